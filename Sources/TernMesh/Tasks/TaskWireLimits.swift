/// Hard limits of the `task/1` and `blob/1` stream messages: what a decoder will allocate
/// for one frame from a peer.
public enum TaskWireLimits {
    /// Blobs a job may name as inputs, and ids in one inventory question.
    public static let maxBlobsPerMessage = 64
    /// Peers a requester may name as holders of a job's inputs.
    public static let maxHolders = 16
    /// A job's canonical options (a prompt, training hyper-parameters).
    public static let maxOptionsBytes = 64 << 10
    /// A prompt inside generate options.
    public static let maxPromptBytes = 32 << 10
    /// Most tokens a generate job may ask for.
    public static let maxGenerateTokens: UInt32 = 4096
    /// A progress message's text (one or a few decoded tokens).
    public static let maxProgressTextBytes = 4 << 10
    /// A signed receipt's bytes.
    public static let maxReceiptBytes = 8 << 10
    /// A result carried inline (generated text, a trained adapter); larger outputs are
    /// refused rather than split.
    public static let maxInlineOutputBytes = 3 << 20
    /// A manifest in one frame: 32 bytes a chunk, so with 1 MiB chunks blobs up to ~120 GiB.
    public static let maxManifestBytes = (4 << 20) - 1024
    /// A failure message's text.
    public static let maxFailureTextBytes = 255
}

/// Why a peer refused or failed a request; the wire byte is stable, the text is for people.
public struct TaskFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: UInt8, Sendable, CaseIterable {
        case notFound = 1, busy = 2, tooLarge = 3, badRequest = 4, internalError = 5, cancelled = 6, rejected = 7
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        // Bounded on the way in, so encoding never meets a string over the wire limit.
        var text = message
        while text.utf8.count > TaskWireLimits.maxFailureTextBytes { text.removeLast() }
        self.message = text
    }

    public var description: String { "\(code): \(message)" }

    func write(to writer: inout WireWriter) {
        writer.u8(code.rawValue)
        writer.string(message)
    }

    static func read(from reader: inout WireReader) throws(WireError) -> TaskFailure {
        let raw = try reader.u8("failure code")
        guard let code = Code(rawValue: raw) else { throw .invalidValue(field: "failure code", value: UInt64(raw)) }
        return TaskFailure(code, try reader.string("failure message"))
    }
}

extension WireWriter {
    mutating func blobID(_ id: BlobID) { fixed(id.bytes) }

    mutating func blobIDs(_ ids: [BlobID]) {
        count(ids.count)
        for id in ids { blobID(id) }
    }
}

extension WireReader {
    mutating func blobID(_ field: String) throws(WireError) -> BlobID {
        BlobID(bytes: try fixed(BlobID.byteCount, field))!
    }

    mutating func blobIDs(_ field: String) throws(WireError) -> [BlobID] {
        let n = try count(field, limit: TaskWireLimits.maxBlobsPerMessage)
        var ids: [BlobID] = []
        for _ in 0..<n { ids.append(try blobID(field)) }
        return ids
    }

    /// The message tag, which every stream message starts with.
    mutating func tag(_ kind: String) throws(WireError) -> UInt8 { try u8("\(kind) tag") }
}
