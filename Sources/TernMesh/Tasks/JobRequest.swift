/// What a requester asks a worker to run: a job kind, the blobs it works on, and the kind's
/// canonical options (whose BLAKE2b-256 goes into the receipt). `holders` names peers that
/// hold the inputs (the requester first); the worker fetches whatever it lacks from them.
public struct JobRequest: Sendable, Equatable {
    public static let jobIDByteCount = 16

    public var jobID: [UInt8]
    public var kind: JobKind
    public var inputs: [BlobID]
    public var options: [UInt8]
    public var holders: [NodeID]

    public init(jobID: [UInt8], kind: JobKind, inputs: [BlobID], options: [UInt8], holders: [NodeID]) {
        self.jobID = jobID
        self.kind = kind
        self.inputs = inputs
        self.options = options
        self.holders = holders
    }

    /// A fresh random job id.
    public static func newJobID() -> [UInt8] { (0..<jobIDByteCount).map { _ in UInt8.random(in: 0...255) } }

    /// BLAKE2b-256 of the options bytes, as receipts record it.
    public var optionsHash: [UInt8] { Sodium.blake2b(options) }

    func write(to writer: inout WireWriter) {
        writer.fixed(jobID)
        writer.u8(kind.rawValue)
        writer.blobIDs(inputs)
        writer.longBlob(options)
        writer.count(holders.count)
        for holder in holders { writer.nodeID(holder) }
    }

    static func read(from reader: inout WireReader) throws(WireError) -> JobRequest {
        let jobID = try reader.fixed(jobIDByteCount, "job id")
        let rawKind = try reader.u8("job kind")
        guard let kind = JobKind(rawValue: rawKind) else { throw .invalidValue(field: "job kind", value: UInt64(rawKind)) }
        let inputs = try reader.blobIDs("job inputs")
        let options = try reader.longBlob("job options", maxBytes: TaskWireLimits.maxOptionsBytes)
        let holderCount = try reader.count("job holders", limit: TaskWireLimits.maxHolders)
        var holders: [NodeID] = []
        for _ in 0..<holderCount { holders.append(try reader.nodeID("job holder")) }
        return JobRequest(jobID: jobID, kind: kind, inputs: inputs, options: options, holders: holders)
    }
}

/// Options of a `generate` job: the prompt and how to sample. Canonical bytes, so that two
/// nodes hash the same options identically.
public struct GenerateOptions: Sendable, Equatable {
    public var prompt: String
    public var maxTokens: UInt32
    /// 0 = greedy.
    public var temperature: Float
    public var seed: UInt64
    /// Wrap the prompt as a user message with the model's chat template.
    public var chat: Bool

    public init(prompt: String, maxTokens: UInt32, temperature: Float = 0, seed: UInt64 = 0, chat: Bool = false) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.seed = seed
        self.chat = chat
    }

    public func encoded() -> [UInt8] {
        var writer = WireWriter(capacity: prompt.utf8.count + 32)
        writer.u8(1)
        writer.longBlob(Array(prompt.utf8))
        writer.u32(maxTokens)
        writer.u32(temperature.bitPattern)
        writer.u64(seed)
        writer.bool(chat)
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> GenerateOptions {
        var reader = WireReader(bytes)
        let version = try reader.u8("generate options version")
        guard version == 1 else { throw .invalidValue(field: "generate options version", value: UInt64(version)) }
        let prompt = try reader.longText("prompt", maxBytes: TaskWireLimits.maxPromptBytes)
        let maxTokens = try reader.u32("max tokens")
        guard maxTokens <= TaskWireLimits.maxGenerateTokens else {
            throw .tooLong(field: "max tokens", length: Int(maxTokens), limit: Int(TaskWireLimits.maxGenerateTokens))
        }
        let temperature = Float(bitPattern: try reader.u32("temperature"))
        guard temperature.isFinite, temperature >= 0, temperature <= 100 else {
            throw .invalidValue(field: "temperature", value: UInt64(temperature.bitPattern))
        }
        let options = GenerateOptions(prompt: prompt, maxTokens: maxTokens, temperature: temperature,
                                      seed: try reader.u64("seed"), chat: try reader.bool("chat"))
        try reader.expectEnd()
        return options
    }
}
