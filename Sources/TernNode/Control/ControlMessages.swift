import Foundation

/// JSON bodies of the loopback control API (`/v1/...`). The CLI decodes the same types.

public struct NodeStatusReply: Codable, Sendable, Equatable {
    public var nodeID: String
    public var fingerprint: String
    public var version: String
    public var gossipAddress: String
    public var incarnation: UInt64
    public var membersAlive: Int
    public var membersSuspect: Int
    public var membersDead: Int
    public var uptimeSeconds: Double
    public var dataDirectory: String
    /// Everything refused since start, one key per reason: datagrams (`badSignature`,
    /// `replayed`, `sourceRateLimited`, …), records (`record.accuserNotMember`, …) and
    /// stream connections (`tcp.handshakeCap`, …).
    public var dropped: [String: Int]

    public init(nodeID: String, fingerprint: String, version: String, gossipAddress: String,
                incarnation: UInt64, membersAlive: Int, membersSuspect: Int, membersDead: Int,
                uptimeSeconds: Double, dataDirectory: String, dropped: [String: Int] = [:]) {
        self.nodeID = nodeID; self.fingerprint = fingerprint; self.version = version
        self.gossipAddress = gossipAddress; self.incarnation = incarnation
        self.membersAlive = membersAlive; self.membersSuspect = membersSuspect
        self.membersDead = membersDead; self.uptimeSeconds = uptimeSeconds
        self.dataDirectory = dataDirectory
        self.dropped = dropped
    }
}

/// One row of `tern mesh peers`.
public struct PeerRow: Codable, Sendable, Equatable {
    public var nodeID: String
    public var fingerprint: String
    public var address: String
    public var state: String
    public var incarnation: UInt64
    public var deviceClass: String?
    public var cores: Int?
    public var ramBytes: UInt64?
    public var isa: [String]
    /// The peer's kernel class (nil when unknown): peers of one class train bit-identically.
    public var kernelClass: String?
    public var gpus: [String]
    public var gops: Double?
    public var lastSeen: Date?

    public init(nodeID: String, fingerprint: String, address: String, state: String,
                incarnation: UInt64, deviceClass: String? = nil, cores: Int? = nil,
                ramBytes: UInt64? = nil, isa: [String] = [], kernelClass: String? = nil, gpus: [String] = [],
                gops: Double? = nil, lastSeen: Date? = nil) {
        self.nodeID = nodeID; self.fingerprint = fingerprint; self.address = address
        self.state = state; self.incarnation = incarnation; self.deviceClass = deviceClass
        self.cores = cores; self.ramBytes = ramBytes; self.isa = isa; self.kernelClass = kernelClass; self.gpus = gpus
        self.gops = gops; self.lastSeen = lastSeen
    }
}

public struct JoinRequest: Codable, Sendable, Equatable {
    public var address: String
    public init(address: String) { self.address = address }
}

public struct JoinReply: Codable, Sendable, Equatable {
    public var message: String
    public init(message: String) { self.message = message }
}

/// Written by the daemon to `control.json` once its control API listens.
public struct ControlEndpoint: Codable, Sendable, Equatable {
    public var port: Int
    public var pid: Int32
    public init(port: Int, pid: Int32) { self.port = port; self.pid = pid }
}

/// `POST /v1/blobs/add`: register a local file as a blob.
public struct BlobAddRequest: Codable, Sendable, Equatable {
    public var path: String
    public var kind: String
    public var name: String?
    /// Reference the file where it lies instead of copying it into the store; nil: models
    /// are referenced, everything else copied.
    public var reference: Bool?
    public init(path: String, kind: String, name: String?, reference: Bool? = nil) {
        self.path = path; self.kind = kind; self.name = name; self.reference = reference
    }
}

/// `POST /v1/blobs/get`: fetch a blob from the mesh, optionally copying it to `out`.
public struct BlobGetRequest: Codable, Sendable, Equatable {
    public var id: String
    public var out: String?
    public var kind: String?
    public var name: String?
    public init(id: String, out: String?, kind: String? = nil, name: String? = nil) {
        self.id = id; self.out = out; self.kind = kind; self.name = name
    }
}

/// `POST /v1/blobs/remove`.
public struct BlobRemoveRequest: Codable, Sendable, Equatable {
    public var id: String
    public init(id: String) { self.id = id }
}

/// `POST /v1/jobs/generate`: run a generate job on a named peer.
public struct GenerateJobRequest: Codable, Sendable, Equatable {
    /// A live peer's node id or fingerprint, or an unambiguous prefix of either.
    public var peer: String
    public var model: String
    public var prompt: String
    public var maxTokens: UInt32
    public var temperature: Float
    public var seed: UInt64
    public var chat: Bool
    public init(peer: String, model: String, prompt: String, maxTokens: UInt32, temperature: Float = 0,
                seed: UInt64 = 0, chat: Bool = false) {
        self.peer = peer; self.model = model; self.prompt = prompt; self.maxTokens = maxTokens
        self.temperature = temperature; self.seed = seed; self.chat = chat
    }
}

/// An empty JSON object, for calls that answer nothing but success.
public struct EmptyReply: Codable, Sendable, Equatable {
    public init() {}
}

/// What the control API needs from the running node. The daemon implements it; keeping it
/// a protocol lets the HTTP layer be tested without a mesh.
public protocol ControlHandler: Sendable {
    func status() async -> NodeStatusReply
    func peers() async -> [PeerRow]
    func join(address: String) async throws -> JoinReply
    func addBlob(_ request: BlobAddRequest) async throws -> BlobInfo
    func getBlob(_ request: BlobGetRequest) async throws -> BlobFetchReport
    func blobs() async throws -> [BlobInfo]
    func removeBlob(_ id: String) async throws
    func generate(_ request: GenerateJobRequest) async throws -> JobRunReply
    func dispatchFineTune(_ request: FineTuneDispatchRequest) async throws -> FineTuneStatus
    /// Every fine-tune this node dispatched, or the one whose id starts with `id`.
    func fineTuneStatus(_ id: String?) async throws -> [FineTuneStatus]
    func cancelFineTune(_ id: String) async throws -> FineTuneStatus
}
