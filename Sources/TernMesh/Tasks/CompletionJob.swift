/// Options of a `complete` job: one OpenAI-style completion that a node which does not hold
/// the model forwards to a peer that does. The worker renders and tokenizes the prompt
/// itself (the requester has no tokenizer), runs it on its serving engine, and streams each
/// token as a `TaskReply.token`. `resumedTokens` carries the tokens another worker already
/// streamed before it failed: the new worker replays them and goes on exactly where the
/// first one stopped (same seed, same continuation). Canonical bytes, so both sides hash
/// the options alike.
public struct CompletionJobOptions: Sendable, Equatable {
    public enum Prompt: Sendable, Equatable {
        /// `/v1/completions`: the text as given.
        case text(String)
        /// `/v1/chat/completions`: messages the worker renders with the model's chat template.
        case chat([ChatTurn])
    }

    public struct ChatTurn: Sendable, Equatable {
        public var role: String
        public var content: String

        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    public var prompt: Prompt
    public var maxTokens: UInt32
    /// 0 is greedy.
    public var temperature: Float
    public var topP: Float
    public var seed: UInt64
    public var stops: [String]
    public var resumedTokens: [Int32]
    /// nil: no log-probabilities; k: the sampled token's and the k most likely (≤ 20).
    public var logprobs: UInt8?

    public init(prompt: Prompt, maxTokens: UInt32, temperature: Float, topP: Float, seed: UInt64, stops: [String] = [],
                resumedTokens: [Int32] = [], logprobs: UInt8? = nil) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
        self.stops = stops
        self.resumedTokens = resumedTokens
        self.logprobs = logprobs
    }

    /// Messages in one chat prompt.
    public static let maxTurns = 1024
    /// A role name.
    public static let maxRoleBytes = 64
    /// Stop sequences, and the bytes of each.
    public static let maxStops = 16
    public static let maxStopBytes = 255
    /// The `logprobs` byte of a job that asks for none.
    static let noLogprobs: UInt8 = 0xFF

    public func encoded() -> [UInt8] {
        var writer = WireWriter(capacity: 256)
        writer.u8(1)
        switch prompt {
        case .text(let text):
            writer.u8(0)
            writer.longBlob(Array(text.utf8))
        case .chat(let turns):
            writer.u8(1)
            writer.count(turns.count)
            for turn in turns {
                writer.longBlob(Array(turn.role.utf8))
                writer.longBlob(Array(turn.content.utf8))
            }
        }
        writer.u32(maxTokens)
        writer.u32(temperature.bitPattern)
        writer.u32(topP.bitPattern)
        writer.u64(seed)
        writer.count(stops.count)
        for stop in stops { writer.longBlob(Array(stop.utf8)) }
        writer.count(resumedTokens.count)
        for token in resumedTokens { writer.u32(UInt32(bitPattern: token)) }
        writer.u8(logprobs ?? Self.noLogprobs)
        return writer.bytes
    }

    /// Checks every limit: a peer's options are an attack until they decode.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> CompletionJobOptions {
        guard bytes.count <= TaskWireLimits.maxOptionsBytes else {
            throw .tooLong(field: "completion options", length: bytes.count, limit: TaskWireLimits.maxOptionsBytes)
        }
        var reader = WireReader(bytes)
        let version = try reader.u8("completion options version")
        guard version == 1 else { throw .invalidValue(field: "completion options version", value: UInt64(version)) }
        let prompt: Prompt
        switch try reader.u8("prompt kind") {
        case 0:
            prompt = .text(try reader.longText("prompt", maxBytes: TaskWireLimits.maxOptionsBytes))
        case 1:
            let count = try reader.count("chat messages", limit: maxTurns)
            var turns: [ChatTurn] = []
            for _ in 0..<count {
                turns.append(ChatTurn(role: try reader.longText("role", maxBytes: maxRoleBytes),
                                      content: try reader.longText("content", maxBytes: TaskWireLimits.maxOptionsBytes)))
            }
            prompt = .chat(turns)
        case let other:
            throw .invalidValue(field: "prompt kind", value: UInt64(other))
        }
        let maxTokens = try reader.u32("max tokens")
        guard maxTokens <= TaskWireLimits.maxGenerateTokens else {
            throw .tooLong(field: "max tokens", length: Int(maxTokens), limit: Int(TaskWireLimits.maxGenerateTokens))
        }
        let temperature = Float(bitPattern: try reader.u32("temperature"))
        guard temperature.isFinite, (0...2).contains(temperature) else {
            throw .invalidValue(field: "temperature", value: UInt64(temperature.bitPattern))
        }
        let topP = Float(bitPattern: try reader.u32("top p"))
        guard topP.isFinite, (0...1).contains(topP) else { throw .invalidValue(field: "top p", value: UInt64(topP.bitPattern)) }
        let seed = try reader.u64("seed")
        let stopCount = try reader.count("stops", limit: maxStops)
        var stops: [String] = []
        for _ in 0..<stopCount { stops.append(try reader.longText("stop", maxBytes: maxStopBytes)) }
        let resumedCount = try reader.count("resumed tokens", limit: Int(TaskWireLimits.maxGenerateTokens))
        guard resumedCount <= maxTokens else {
            throw .tooLong(field: "resumed tokens", length: resumedCount, limit: Int(maxTokens))
        }
        var resumed: [Int32] = []
        resumed.reserveCapacity(resumedCount)
        for _ in 0..<resumedCount {
            let raw = try reader.u32("resumed token")
            guard raw <= UInt32(Int32.max) else { throw .invalidValue(field: "resumed token", value: UInt64(raw)) }
            resumed.append(Int32(raw))
        }
        let logprobs = try reader.u8("logprobs")
        guard logprobs == noLogprobs || Int(logprobs) < LogprobEntry.maxEntries else {
            throw .invalidValue(field: "logprobs", value: UInt64(logprobs))
        }
        try reader.expectEnd()
        return CompletionJobOptions(prompt: prompt, maxTokens: maxTokens, temperature: temperature, topP: topP, seed: seed,
                                    stops: stops, resumedTokens: resumed, logprobs: logprobs == noLogprobs ? nil : logprobs)
    }
}

/// The output of a `complete` job, whose hash its receipt signs: how the completion ended.
/// Its text went out token by token; `trailingText` is what the end released.
public struct CompletionJobResult: Sendable, Equatable {
    public enum Finish: UInt8, Sendable {
        case endOfGeneration = 0, stopString = 1, length = 2
    }

    public var finish: Finish
    public var promptTokens: UInt32
    /// Every token of the completion, the resumed ones included.
    public var completionTokens: UInt32
    public var trailingText: String

    public init(finish: Finish, promptTokens: UInt32, completionTokens: UInt32, trailingText: String) {
        self.finish = finish
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.trailingText = trailingText
    }

    public func encoded() -> [UInt8] {
        var writer = WireWriter(capacity: 16 + trailingText.utf8.count)
        writer.u8(1)
        writer.u8(finish.rawValue)
        writer.u32(promptTokens)
        writer.u32(completionTokens)
        writer.longBlob(Array(trailingText.utf8))
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> CompletionJobResult {
        var reader = WireReader(bytes)
        let version = try reader.u8("completion result version")
        guard version == 1 else { throw .invalidValue(field: "completion result version", value: UInt64(version)) }
        let raw = try reader.u8("finish reason")
        guard let finish = Finish(rawValue: raw) else { throw .invalidValue(field: "finish reason", value: UInt64(raw)) }
        let result = CompletionJobResult(
            finish: finish, promptTokens: try reader.u32("prompt tokens"), completionTokens: try reader.u32("completion tokens"),
            trailingText: try reader.longText("trailing text", maxBytes: TaskWireLimits.maxProgressTextBytes))
        try reader.expectEnd()
        return result
    }
}
