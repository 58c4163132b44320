/// Why a piece of work handed to a `ComputeExecutor` did not run.
public enum ComputeExecutorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The queue already held `limit` jobs waiting for a compute thread. The work was
    /// refused at once rather than queued without bound; the caller decides whether to
    /// retry later or turn its own request away.
    case queueFull(limit: Int)
    /// The awaiting task was cancelled while the work still waited in the queue, so it was
    /// skipped: it never ran and never will.
    case cancelledBeforeStart
    /// The executor was shut down before the work started; it never ran.
    case shutDown

    public var description: String {
        switch self {
        case .queueFull(let limit): "compute queue is full (\(limit) jobs waiting); the work was not queued"
        case .cancelledBeforeStart: "compute work was cancelled before it started; it did not run"
        case .shutDown: "compute executor is shut down; the work did not run"
        }
    }
}
