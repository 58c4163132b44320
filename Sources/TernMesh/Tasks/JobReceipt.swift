/// What a worker did for a requester: one finished job, named by its id, its inputs, its
/// options and its result, with the work it took. `SignedReceipt` carries the signatures;
/// this value is only the body, and `encoded()` is the one byte form both parties sign.
///
/// Canonical encoding (version 1, docs/protocol.md §10):
///
/// ```
/// u8          version = 1
/// 16 bytes    job id
/// u8          kind (JobKind)
/// id          worker
/// id          requester
/// list<32 B>  input blob ids (≤ 64)
/// 32 bytes    options hash
/// bool        has output, then 32 bytes output blob id if set
/// u64         tokens
/// u64         wall milliseconds
/// 32 bytes    step chain root
/// u64         finished at, worker's wall clock, milliseconds since the Unix epoch
/// ```
public struct JobReceipt: Sendable, Equatable {
    static let version: UInt8 = 1
    public static let jobIDByteCount = 16
    public static let hashByteCount = 32
    public static let maxInputs = WireLimits.maxListCount
    /// The longest body: every field present, 64 inputs. Decoders refuse anything longer
    /// before reading a field.
    public static let maxEncodedBytes = 1 + jobIDByteCount + 1 + 2 * NodeID.byteCount + 2 + maxInputs * BlobID.byteCount
        + hashByteCount + 1 + BlobID.byteCount + 8 + 8 + hashByteCount + 8

    public var jobID: [UInt8]
    public var kind: JobKind
    public var worker: NodeID
    public var requester: NodeID
    public var inputs: [BlobID]
    /// BLAKE2b-256 of the job's canonical options (`StepHashChain.digest`).
    public var optionsHash: [UInt8]
    /// The result blob; nil when the job has none (a generation streams its tokens).
    public var output: BlobID?
    /// Tokens processed: generated, or trained on.
    public var tokens: UInt64
    public var wallMillis: UInt64
    /// Root of the `StepHashChain` over every step's result.
    public var stepChainRoot: [UInt8]
    /// The worker's wall clock when the job finished, milliseconds since the Unix epoch.
    public var finishedAtMillis: UInt64

    public init(jobID: [UInt8], kind: JobKind, worker: NodeID, requester: NodeID, inputs: [BlobID], optionsHash: [UInt8],
                output: BlobID?, tokens: UInt64, wallMillis: UInt64, stepChainRoot: [UInt8], finishedAtMillis: UInt64) {
        self.jobID = jobID
        self.kind = kind
        self.worker = worker
        self.requester = requester
        self.inputs = inputs
        self.optionsHash = optionsHash
        self.output = output
        self.tokens = tokens
        self.wallMillis = wallMillis
        self.stepChainRoot = stepChainRoot
        self.finishedAtMillis = finishedAtMillis
    }

    /// Throws naming the first field whose length the encoding cannot carry. The fields are
    /// public and mutable, so `SignedReceipt.sign` checks before it encodes.
    public func validate() throws(ReceiptError) {
        guard jobID.count == Self.jobIDByteCount else { throw .invalidField("job id is \(jobID.count) bytes, expected \(Self.jobIDByteCount)") }
        guard inputs.count <= Self.maxInputs else { throw .invalidField("\(inputs.count) inputs, the limit is \(Self.maxInputs)") }
        guard optionsHash.count == Self.hashByteCount else {
            throw .invalidField("options hash is \(optionsHash.count) bytes, expected \(Self.hashByteCount)")
        }
        guard stepChainRoot.count == Self.hashByteCount else {
            throw .invalidField("step chain root is \(stepChainRoot.count) bytes, expected \(Self.hashByteCount)")
        }
    }

    /// The canonical bytes. A receipt that fails `validate()` is a programming error here.
    public func encoded() -> [UInt8] {
        precondition((try? validate()) != nil, "encoding an invalid job receipt")
        var writer = WireWriter(capacity: 256 + inputs.count * BlobID.byteCount)
        writer.u8(Self.version)
        writer.fixed(jobID)
        writer.u8(kind.rawValue)
        writer.nodeID(worker)
        writer.nodeID(requester)
        writer.count(inputs.count)
        for input in inputs { writer.fixed(input.bytes) }
        writer.fixed(optionsHash)
        writer.bool(output != nil)
        if let output { writer.fixed(output.bytes) }
        writer.u64(tokens)
        writer.u64(wallMillis)
        writer.fixed(stepChainRoot)
        writer.u64(finishedAtMillis)
        return writer.bytes
    }

    /// Parses canonical bytes; throws on anything else (wrong version or kind, a list over
    /// its limit, truncation, trailing bytes), whatever the input.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> JobReceipt {
        guard bytes.count <= maxEncodedBytes else { throw .tooLong(field: "job receipt", length: bytes.count, limit: maxEncodedBytes) }
        var reader = WireReader(bytes)
        let version = try reader.u8("receipt version")
        guard version == Self.version else { throw .invalidValue(field: "receipt version", value: UInt64(version)) }
        let jobID = try reader.fixed(jobIDByteCount, "job id")
        let rawKind = try reader.u8("job kind")
        guard let kind = JobKind(rawValue: rawKind) else { throw .invalidValue(field: "job kind", value: UInt64(rawKind)) }
        let worker = try reader.nodeID("worker")
        let requester = try reader.nodeID("requester")
        let inputCount = try reader.count("inputs", limit: maxInputs)
        var inputs: [BlobID] = []
        inputs.reserveCapacity(inputCount)
        for _ in 0..<inputCount { inputs.append(BlobID(bytes: try reader.fixed(BlobID.byteCount, "input"))!) }
        let optionsHash = try reader.fixed(hashByteCount, "options hash")
        let output = try reader.bool("has output") ? BlobID(bytes: try reader.fixed(BlobID.byteCount, "output"))! : nil
        let tokens = try reader.u64("tokens")
        let wallMillis = try reader.u64("wall millis")
        let stepChainRoot = try reader.fixed(hashByteCount, "step chain root")
        let finishedAtMillis = try reader.u64("finished at")
        try reader.expectEnd()
        return JobReceipt(jobID: jobID, kind: kind, worker: worker, requester: requester, inputs: inputs,
                          optionsHash: optionsHash, output: output, tokens: tokens, wallMillis: wallMillis,
                          stepChainRoot: stepChainRoot, finishedAtMillis: finishedAtMillis)
    }
}
