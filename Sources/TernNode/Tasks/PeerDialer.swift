import TernMesh

/// How the task plane reaches peers, as closures so that the fetcher and job client can be
/// driven by the mesh runtime in the daemon and by plain listeners in tests.
public struct PeerDialer: Sendable {
    /// Opens an authenticated stream of `protocolID` to the peer (which the handshake proves).
    let open: @Sendable (_ peer: NodeID, _ protocolID: String) async throws -> SecureConnection
    /// Live members other than this node.
    let liveMembers: @Sendable () async -> [NodeID]
    /// Lowers a peer's score for bad data (callers count the reason themselves).
    let misbehaved: @Sendable (_ peer: NodeID) async -> Void

    public init(open: @escaping @Sendable (_ peer: NodeID, _ protocolID: String) async throws -> SecureConnection,
                liveMembers: @escaping @Sendable () async -> [NodeID],
                misbehaved: @escaping @Sendable (_ peer: NodeID) async -> Void) {
        self.open = open
        self.liveMembers = liveMembers
        self.misbehaved = misbehaved
    }
}

/// The stream protocols of the task plane (docs/protocol.md §10).
public enum TaskProtocol {
    public static let task = "task/1"
    public static let blob = "blob/1"
    public static let all: Set<String> = [task, blob]
}

extension Duration {
    /// The duration in seconds, as a Double (for rates and reports).
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
