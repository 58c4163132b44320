/// Messages of the `task/1` stream (docs/protocol.md §10): inventory questions and jobs.
/// A requester sends one request at a time per stream and reads its replies; a job's
/// replies are `accepted`, any number of `progress` (`token` for a `complete` job), then
/// `result` (or `failure`), after
/// which the requester sends `accept` with its countersignature (or `reject`) and the
/// worker answers `acknowledged`.
public enum TaskRequest: Sendable, Equatable {
    /// Which of these blobs do you hold, and how much of each?
    case inventory(requestID: UInt32, blobs: [BlobID])
    case submit(requestID: UInt32, job: JobRequest)
    /// The requester accepts the result: the receipt with its countersignature.
    case accept(requestID: UInt32, receipt: [UInt8])
    case reject(requestID: UInt32, reason: String)
    case cancel(requestID: UInt32)

    public var requestID: UInt32 {
        switch self {
        case let .inventory(id, _), let .submit(id, _), let .accept(id, _), let .reject(id, _), let .cancel(id): id
        }
    }

    public func encoded() -> [UInt8] {
        var writer = WireWriter(capacity: 256)
        switch self {
        case let .inventory(requestID, blobs):
            writer.u8(0x10); writer.u32(requestID); writer.blobIDs(blobs)
        case let .submit(requestID, job):
            writer.u8(0x11); writer.u32(requestID); job.write(to: &writer)
        case let .accept(requestID, receipt):
            writer.u8(0x12); writer.u32(requestID); writer.longBlob(receipt)
        case let .reject(requestID, reason):
            writer.u8(0x13); writer.u32(requestID); writer.string(String(reason.utf8.prefix(WireLimits.maxStringBytes)) ?? "rejected")
        case let .cancel(requestID):
            writer.u8(0x14); writer.u32(requestID)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> TaskRequest {
        var reader = WireReader(bytes)
        let tag = try reader.tag("task request")
        let requestID = try reader.u32("request id")
        let message: TaskRequest
        switch tag {
        case 0x10: message = .inventory(requestID: requestID, blobs: try reader.blobIDs("inventory blobs"))
        case 0x11: message = .submit(requestID: requestID, job: try JobRequest.read(from: &reader))
        case 0x12: message = .accept(requestID: requestID,
                                     receipt: try reader.longBlob("receipt", maxBytes: TaskWireLimits.maxReceiptBytes))
        case 0x13: message = .reject(requestID: requestID, reason: try reader.string("reject reason"))
        case 0x14: message = .cancel(requestID: requestID)
        default: throw .invalidValue(field: "task request tag", value: UInt64(tag))
        }
        try reader.expectEnd()
        return message
    }
}

/// How much of one blob a node holds.
public struct BlobHolding: Sendable, Equatable {
    public var blob: BlobID
    public var chunksHeld: UInt32
    public var chunkCount: UInt32

    public init(blob: BlobID, chunksHeld: UInt32, chunkCount: UInt32) {
        self.blob = blob
        self.chunksHeld = chunksHeld
        self.chunkCount = chunkCount
    }

    public var isComplete: Bool { chunksHeld == chunkCount }
}

public enum TaskReply: Sendable, Equatable {
    /// Only the blobs held at least in part.
    case inventory(requestID: UInt32, holdings: [BlobHolding])
    case accepted(requestID: UInt32)
    /// Output so far: decoded text of new tokens (generate) or the loss of a finished step
    /// (train, `text` empty); `done` counts tokens generated or steps finished.
    case progress(requestID: UInt32, text: String, done: UInt32, loss: Double?)
    /// One token of a `complete` job and the text it released (often empty while a stop
    /// string or a character is still incomplete). The id lets a requester resume the
    /// completion on another worker should this one fail. `logprobs` is empty unless the
    /// job asked for them: then the sampled token's first, then the most likely ones'.
    case token(requestID: UInt32, token: Int32, text: String, logprobs: [LogprobEntry])
    /// The worker-signed receipt and the output bytes, whose blob id the receipt names.
    case result(requestID: UInt32, receipt: [UInt8], output: [UInt8])
    case acknowledged(requestID: UInt32)
    case failure(requestID: UInt32, TaskFailure)

    public var requestID: UInt32 {
        switch self {
        case let .inventory(id, _), let .accepted(id), let .progress(id, _, _, _), let .token(id, _, _, _), let .result(id, _, _),
             let .acknowledged(id), let .failure(id, _): id
        }
    }

    public func encoded() -> [UInt8] {
        var writer = WireWriter(capacity: 256)
        switch self {
        case let .inventory(requestID, holdings):
            writer.u8(0x90); writer.u32(requestID); writer.count(holdings.count)
            for holding in holdings {
                writer.blobID(holding.blob); writer.u32(holding.chunksHeld); writer.u32(holding.chunkCount)
            }
        case let .accepted(requestID):
            writer.u8(0x91); writer.u32(requestID)
        case let .progress(requestID, text, done, loss):
            writer.u8(0x92); writer.u32(requestID); writer.longBlob(Array(text.utf8)); writer.u32(done)
            writer.bool(loss != nil); writer.u64((loss ?? 0).bitPattern)
        case let .token(requestID, token, text, logprobs):
            writer.u8(0x95); writer.u32(requestID); writer.u32(UInt32(bitPattern: token)); writer.longBlob(Array(text.utf8))
            writer.count(logprobs.count)
            for entry in logprobs {
                writer.u32(UInt32(bitPattern: entry.token)); writer.u32(entry.logprob.bitPattern); writer.blob(entry.bytes)
            }
        case let .result(requestID, receipt, output):
            writer = WireWriter(capacity: receipt.count + output.count + 16)
            writer.u8(0x93); writer.u32(requestID); writer.longBlob(receipt); writer.longBlob(output)
        case let .acknowledged(requestID):
            writer.u8(0x94); writer.u32(requestID)
        case let .failure(requestID, failure):
            writer.u8(0xFF); writer.u32(requestID); failure.write(to: &writer)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> TaskReply {
        var reader = WireReader(bytes)
        let tag = try reader.tag("task reply")
        let requestID = try reader.u32("request id")
        let message: TaskReply
        switch tag {
        case 0x90:
            let n = try reader.count("inventory holdings", limit: TaskWireLimits.maxBlobsPerMessage)
            var holdings: [BlobHolding] = []
            for _ in 0..<n {
                let holding = BlobHolding(blob: try reader.blobID("held blob"), chunksHeld: try reader.u32("chunks held"),
                                          chunkCount: try reader.u32("chunk count"))
                guard holding.chunksHeld <= holding.chunkCount else {
                    throw .invalidValue(field: "chunks held", value: UInt64(holding.chunksHeld))
                }
                holdings.append(holding)
            }
            message = .inventory(requestID: requestID, holdings: holdings)
        case 0x91: message = .accepted(requestID: requestID)
        case 0x92:
            let text = try reader.longText("progress text", maxBytes: TaskWireLimits.maxProgressTextBytes)
            let done = try reader.u32("progress done")
            let hasLoss = try reader.bool("progress has loss")
            let lossBits = try reader.u64("progress loss")
            guard hasLoss || lossBits == 0 else { throw .invalidValue(field: "progress loss", value: lossBits) }
            let loss = Double(bitPattern: lossBits)
            message = .progress(requestID: requestID, text: text, done: done, loss: hasLoss ? loss : nil)
        case 0x95:
            let raw = try reader.u32("token")
            guard raw <= UInt32(Int32.max) else { throw .invalidValue(field: "token", value: UInt64(raw)) }
            let text = try reader.longText("token text", maxBytes: TaskWireLimits.maxProgressTextBytes)
            let count = try reader.count("logprobs", limit: LogprobEntry.maxEntries)
            var logprobs: [LogprobEntry] = []
            for _ in 0..<count { logprobs.append(try LogprobEntry.read(from: &reader)) }
            message = .token(requestID: requestID, token: Int32(raw), text: text, logprobs: logprobs)
        case 0x93:
            message = .result(requestID: requestID,
                              receipt: try reader.longBlob("receipt", maxBytes: TaskWireLimits.maxReceiptBytes),
                              output: try reader.longBlob("output", maxBytes: TaskWireLimits.maxInlineOutputBytes))
        case 0x94: message = .acknowledged(requestID: requestID)
        case 0xFF: message = .failure(requestID: requestID, try TaskFailure.read(from: &reader))
        default: throw .invalidValue(field: "task reply tag", value: UInt64(tag))
        }
        try reader.expectEnd()
        return message
    }
}

/// A token's log-probability in a `TaskReply.token`, with the token's bytes (the requester
/// has no tokenizer to show it with).
public struct LogprobEntry: Sendable, Equatable {
    public var token: Int32
    /// Never NaN and never above 0 (−∞ for a token the model rules out).
    public var logprob: Float
    public var bytes: [UInt8]

    public init(token: Int32, logprob: Float, bytes: [UInt8]) {
        self.token = token
        self.logprob = logprob
        self.bytes = bytes
    }

    /// The sampled token and up to 20 alternatives.
    public static let maxEntries = 21
    /// A token's bytes.
    public static let maxBytes = 256

    static func read(from reader: inout WireReader) throws(WireError) -> LogprobEntry {
        let raw = try reader.u32("logprob token")
        guard raw <= UInt32(Int32.max) else { throw .invalidValue(field: "logprob token", value: UInt64(raw)) }
        let bits = try reader.u32("logprob")
        let logprob = Float(bitPattern: bits)
        guard !logprob.isNaN, logprob <= 0 else { throw .invalidValue(field: "logprob", value: UInt64(bits)) }
        return LogprobEntry(token: Int32(raw), logprob: logprob, bytes: try reader.blob("logprob bytes", maxBytes: maxBytes))
    }
}
