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
    public var gpus: [String]
    public var gops: Double?
    public var lastSeen: Date?

    public init(nodeID: String, fingerprint: String, address: String, state: String,
                incarnation: UInt64, deviceClass: String? = nil, cores: Int? = nil,
                ramBytes: UInt64? = nil, isa: [String] = [], gpus: [String] = [],
                gops: Double? = nil, lastSeen: Date? = nil) {
        self.nodeID = nodeID; self.fingerprint = fingerprint; self.address = address
        self.state = state; self.incarnation = incarnation; self.deviceClass = deviceClass
        self.cores = cores; self.ramBytes = ramBytes; self.isa = isa; self.gpus = gpus
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

/// What the control API needs from the running node. The daemon implements it; keeping it
/// a protocol lets the HTTP layer be tested without a mesh.
public protocol ControlHandler: Sendable {
    func status() async -> NodeStatusReply
    func peers() async -> [PeerRow]
    func join(address: String) async throws -> JoinReply
}
