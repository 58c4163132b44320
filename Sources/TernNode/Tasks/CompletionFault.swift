/// How a worker built for a test of failover fails a forwarded completion. Each is what a
/// requester must survive from a real peer without the client noticing.
public enum CompletionFault: Sendable, Equatable {
    /// Drops the stream after sending this many tokens, as a worker that dies does.
    case vanishAfter(tokens: Int)
    /// Streams honest tokens but signs a receipt over one more: the requester refuses the
    /// result before countersigning it.
    case forgeReceipt
    /// Streams every honest token, then one more than the job allows before its result.
    case overrun
}
