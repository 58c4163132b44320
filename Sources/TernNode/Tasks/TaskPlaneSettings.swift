/// Limits of the task plane, from `tern node start` flags.
public struct TaskPlaneSettings: Sendable, Equatable {
    /// Jobs run at once (`--max-jobs`); more are refused with a busy reply.
    public var maxJobs = 1
    /// Blob bytes served per second to all peers together (`--upload-limit`); nil: no cap.
    public var uploadBytesPerSecond: Double?
    /// Streams one peer may hold open to this node at once, per protocol.
    public var streamsPerPeer = 8
    /// How long a worker waits for the requester to accept or reject a result.
    public var acceptTimeout: Duration = .seconds(60)
    /// How long a fetch waits for peers to say which of them hold a blob (dial, handshake
    /// and answer). Tests whose processes are busy with model work allow more.
    public var inventoryTimeout: Duration = .seconds(5)
    /// Kernel threads each job's model work uses (`--threads`); nil: one per core.
    public var kernelThreads: Int?
    /// Fault injection for tests of verification; nil (no fault) everywhere else. Set only by
    /// `tern node start --allow-faults` with `TERN_FAULT=…`, or by tests.
    public var trainFault: TrainFault?
    /// Fault injection for tests of completion failover (tests only).
    public var completionFault: CompletionFault?

    public init(maxJobs: Int = 1, uploadBytesPerSecond: Double? = nil) {
        self.maxJobs = maxJobs
        self.uploadBytesPerSecond = uploadBytesPerSecond
    }
}
