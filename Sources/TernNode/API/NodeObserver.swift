import Foundation

/// What the public API listener reads from the running node: the model list, the status
/// page and `/metrics` are all built from these. The daemon implements it over the mesh
/// runtime, task plane and ledger (`RuntimeObserver`); a protocol lets the HTTP layer be
/// tested without a mesh.
public protocol NodeObserver: Sendable {
    /// This node's identity, uptime and member counts (the control API's `/v1/status`).
    func status() async -> NodeStatusReply
    /// This node first, then every member it knows, with what their signed profiles say.
    func members() async -> [MemberSummary]
    /// The model blobs this node holds in full.
    func localModels() -> [BlobInfo]
    /// The fine-tunes this node dispatched, newest first.
    func fineTunes() -> [FineTuneStatus]
    /// The newest receipts in the ledger, newest first.
    func receipts(limit: Int) -> [ReceiptSummary]
    /// Every node's credit here, most tokens first.
    func credits() -> [CreditSummary]
    /// Counters for `/metrics`.
    func activity() async -> NodeActivity
}

/// One mesh member as the status page shows it. Every string but the ids comes from a peer's
/// signed profile: the protocol checks it is printable, and the page treats it as text only.
public struct MemberSummary: Codable, Sendable, Equatable {
    public var nodeID: String
    public var fingerprint: String
    public var address: String
    /// alive, suspect, dead or left.
    public var state: String
    /// True for the node serving the page.
    public var isSelf: Bool
    public var deviceClass: String?
    public var cores: Int?
    public var ramBytes: UInt64?
    public var gops: Double?
    public var loadPercent: Int?
    /// Blob ids (hex) of the models its profile lists.
    public var models: [String]

    public init(nodeID: String, fingerprint: String, address: String, state: String, isSelf: Bool = false,
                deviceClass: String? = nil, cores: Int? = nil, ramBytes: UInt64? = nil, gops: Double? = nil,
                loadPercent: Int? = nil, models: [String] = []) {
        self.nodeID = nodeID; self.fingerprint = fingerprint; self.address = address; self.state = state
        self.isSelf = isSelf; self.deviceClass = deviceClass; self.cores = cores; self.ramBytes = ramBytes
        self.gops = gops; self.loadPercent = loadPercent; self.models = models
    }
}

/// One receipt as the status page lists it.
public struct ReceiptSummary: Codable, Sendable, Equatable {
    public var jobID: String
    public var kind: String
    public var worker: String
    public var requester: String
    public var tokens: Int64
    public var wallMillis: Int64
    public var accepted: Bool
    /// Why its credit was taken back; nil when it stands.
    public var revokedReason: String?
    public var createdAt: Date

    public init(jobID: String, kind: String, worker: String, requester: String, tokens: Int64, wallMillis: Int64,
                accepted: Bool, revokedReason: String? = nil, createdAt: Date) {
        self.jobID = jobID; self.kind = kind; self.worker = worker; self.requester = requester; self.tokens = tokens
        self.wallMillis = wallMillis; self.accepted = accepted; self.revokedReason = revokedReason; self.createdAt = createdAt
    }
}

/// One node's credit in this node's ledger.
public struct CreditSummary: Codable, Sendable, Equatable {
    public var nodeID: String
    public var jobsAccepted: Int64
    public var jobsRejected: Int64
    public var jobsRevoked: Int64
    public var tokensAccepted: Int64

    public init(nodeID: String, jobsAccepted: Int64, jobsRejected: Int64, jobsRevoked: Int64, tokensAccepted: Int64) {
        self.nodeID = nodeID; self.jobsAccepted = jobsAccepted; self.jobsRejected = jobsRejected
        self.jobsRevoked = jobsRevoked; self.tokensAccepted = tokensAccepted
    }
}
