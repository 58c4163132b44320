import TernMesh
import TernTrain

/// What a `train` job asks of its worker besides the base model, the dataset shard and the
/// input adapter. Together with those inputs the options decide the result bit for bit, so
/// a receipt names them by the hash of `canonicalBytes()`.
public struct TrainJobOptions: Sendable, Codable, Equatable {
    /// Upper bounds: a job is a unit another peer may re-run to check, so it stays small.
    public static let maxSteps = 10_000
    public static let maxRank = 256
    public static let maxSequenceLength = 4096
    public static let maxBatchSize = 64

    /// Optimizer steps.
    public var steps: Int
    /// Constant learning rate of AdamW.
    public var learningRate: Double
    public var rank: Int
    /// The update is scaled by alpha / rank.
    public var alpha: Double
    /// LoRA targets by name (`attn_q`, …, `ffn_down`, see `LoRATarget`), on every block.
    public var modules: [String]
    /// Tokens per training sequence.
    public var sequenceLength: Int
    /// Sequences per step.
    public var batchSize: Int
    /// Seeds the fresh adapter's A, the data order and nothing else.
    public var seed: UInt64
    /// nil = both LoRA factors train; "A" or "B" = only that one does and the other is
    /// returned exactly as it came (RoLoRA alternation).
    public var trainFactor: String?
    /// The dataset's layout, `text`, `chat` or `completion` (`TrainingDataFormat`); nil =
    /// read from its first line: a JSON object with `messages` is chat, one with `prompt`
    /// completion, anything else text.
    public var format: String?
    /// The shard: train only on `shardLength` training sequences starting at `shardStart`
    /// (wrapping around the dataset's); nil trains on all of them.
    public var shardStart: Int?
    public var shardLength: Int?

    public init(steps: Int, learningRate: Double, rank: Int, alpha: Double, modules: [String], sequenceLength: Int,
                batchSize: Int, seed: UInt64, trainFactor: String? = nil, format: String? = nil,
                shardStart: Int? = nil, shardLength: Int? = nil) {
        self.steps = steps
        self.learningRate = learningRate
        self.rank = rank
        self.alpha = alpha
        self.modules = modules
        self.sequenceLength = sequenceLength
        self.batchSize = batchSize
        self.seed = seed
        self.trainFactor = trainFactor
        self.format = format
        self.shardStart = shardStart
        self.shardLength = shardLength
    }

    /// Throws `TrainJobError.invalidOption` naming the first option out of range.
    public func validate() throws(TrainJobError) {
        func check(_ condition: Bool, _ detail: @autoclosure () -> String) throws(TrainJobError) {
            guard condition else { throw .invalidOption(detail()) }
        }
        try check((1...Self.maxSteps).contains(steps), "steps \(steps) must be in 1…\(Self.maxSteps)")
        try check(learningRate.isFinite && learningRate > 0 && learningRate <= 1, "learning rate \(learningRate) must be in (0, 1]")
        try check((1...Self.maxRank).contains(rank), "rank \(rank) must be in 1…\(Self.maxRank)")
        try check(alpha.isFinite && alpha > 0 && alpha <= 1e6, "alpha \(alpha) must be positive")
        try check(!modules.isEmpty, "no LoRA modules given")
        try check(Set(modules).count == modules.count, "modules \(modules) name one twice")
        for module in modules {
            try check(LoRATarget(rawValue: module) != nil,
                      "unknown module '\(module)'; choose from \(LoRATarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try check((2...Self.maxSequenceLength).contains(sequenceLength),
                  "sequence length \(sequenceLength) must be in 2…\(Self.maxSequenceLength)")
        try check((1...Self.maxBatchSize).contains(batchSize), "batch size \(batchSize) must be in 1…\(Self.maxBatchSize)")
        if let trainFactor { try check(LoRAFactor(rawValue: trainFactor) != nil, "train factor '\(trainFactor)' must be A or B") }
        try check((shardStart == nil) == (shardLength == nil), "a shard needs both its start and its length")
        if let shardStart, let shardLength {
            try check(shardStart >= 0 && shardLength >= 1 && shardLength <= 1 << 24,
                      "shard \(shardStart)+\(shardLength) must start at 0 or later and hold 1…16,777,216 sequences")
        }
        if let format {
            try check(TrainingDataFormat(rawValue: format) != nil,
                      "format '\(format)' must be one of \(TrainingDataFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// The stable byte form that is hashed into a receipt's options hash: a version byte,
    /// then every field in declaration order (integers as u64 two's complement, doubles as
    /// their IEEE-754 bits, strings as u32 length + UTF-8, optionals behind a presence byte).
    /// Never traps, valid or not.
    public func canonicalBytes() -> [UInt8] {
        var writer = WireWriter()
        writer.u8(1)
        writer.u64(UInt64(bitPattern: Int64(steps)))
        writer.u64(learningRate.bitPattern)
        writer.u64(UInt64(bitPattern: Int64(rank)))
        writer.u64(alpha.bitPattern)
        writer.u32(UInt32(clamping: modules.count))
        for module in modules { Self.write(module, to: &writer) }
        writer.u64(UInt64(bitPattern: Int64(sequenceLength)))
        writer.u64(UInt64(bitPattern: Int64(batchSize)))
        writer.u64(seed)
        for optional in [trainFactor, format] {
            writer.bool(optional != nil)
            if let optional { Self.write(optional, to: &writer) }
        }
        for optional in [shardStart, shardLength] {
            writer.bool(optional != nil)
            if let optional { writer.u64(UInt64(bitPattern: Int64(optional))) }
        }
        return writer.bytes
    }

    /// Decodes options a requester sent (`canonicalBytes()` form) and validates them; lists
    /// and strings are bounded before anything is allocated for them.
    public init(canonicalBytes bytes: [UInt8]) throws {
        var reader = WireReader(bytes)
        let version = try reader.u8("train options version")
        guard version == 1 else { throw WireError.invalidValue(field: "train options version", value: UInt64(version)) }
        func int(_ field: String) throws -> Int {
            let raw = Int64(bitPattern: try reader.u64(field))
            guard raw >= 0, raw <= Int64(Int32.max) else { throw WireError.invalidValue(field: field, value: UInt64(bitPattern: raw)) }
            return Int(raw)
        }
        func text(_ field: String) throws -> String {
            let length = Int(try reader.u32(field))
            guard length <= 64 else { throw WireError.tooLong(field: field, length: length, limit: 64) }
            guard let value = String(validating: try reader.fixed(length, field), as: UTF8.self) else {
                throw WireError.invalidUTF8(field: field)
            }
            return value
        }
        let steps = try int("steps")
        let learningRate = Double(bitPattern: try reader.u64("learning rate"))
        let rank = try int("rank")
        let alpha = Double(bitPattern: try reader.u64("alpha"))
        let moduleCount = Int(try reader.u32("modules"))
        guard moduleCount <= LoRATarget.allCases.count else {
            throw WireError.tooLong(field: "modules", length: moduleCount, limit: LoRATarget.allCases.count)
        }
        var modules: [String] = []
        for _ in 0..<moduleCount { modules.append(try text("module")) }
        let sequenceLength = try int("sequence length")
        let batchSize = try int("batch size")
        let seed = try reader.u64("seed")
        var optionals: [String?] = []
        for field in ["train factor", "format"] {
            optionals.append(try reader.bool("has \(field)") ? try text(field) : nil)
        }
        var shard: [Int?] = []
        for field in ["shard start", "shard length"] {
            shard.append(try reader.bool("has \(field)") ? try int(field) : nil)
        }
        try reader.expectEnd()
        self.init(steps: steps, learningRate: learningRate, rank: rank, alpha: alpha, modules: modules,
                  sequenceLength: sequenceLength, batchSize: batchSize, seed: seed, trainFactor: optionals[0],
                  format: optionals[1], shardStart: shard[0], shardLength: shard[1])
        try validate()
    }

    /// BLAKE2b-256 of `canonicalBytes()`: a receipt's `optionsHash`.
    public var hash: [UInt8] { StepHashChain.digest(canonicalBytes()) }

    private static func write(_ text: String, to writer: inout WireWriter) {
        let utf8 = Array(text.utf8)
        writer.u32(UInt32(clamping: utf8.count))
        writer.fixed(utf8.prefix(Int(UInt32.max)))
    }
}
