import Foundation

/// The sequences a fine-tuning run trains on and the ones it validates on. Validation holds
/// whole examples (never a piece of a training example), packed separately.
public struct TrainingDataSplit: Sendable, Equatable {
    public let train: [TrainingSequence]
    public let validation: [TrainingSequence]
    /// Examples (JSONL lines, or context-length chunks of a text file) on each side.
    public let trainExampleCount: Int
    public let validationExampleCount: Int

    public init(train: [TrainingSequence], validation: [TrainingSequence], trainExampleCount: Int, validationExampleCount: Int) {
        self.train = train
        self.validation = validation
        self.trainExampleCount = trainExampleCount
        self.validationExampleCount = validationExampleCount
    }

    /// Tokens whose prediction is learned, over the training sequences.
    public var trainScoredTokenCount: Int { train.reduce(0) { $0 + $1.scoredTokenCount } }
    public var validationScoredTokenCount: Int { validation.reduce(0) { $0 + $1.scoredTokenCount } }
}

/// Loads a training file into tokenized, masked, packed sequences of at most
/// `contextLength` tokens, with a seeded held-out validation split by example.
///
/// - text: the whole file is encoded as one document and cut into overlapping windows of
///   `contextLength` tokens that share one token (the last of a window is the first of the
///   next), so every token after the first is predicted exactly once; the last window may
///   be shorter. Each window is one example for the split.
/// - chat / completion: one example per JSONL line, packed (see `SequencePacker`); an
///   example longer than the context is rejected with its line, not cut, because a cut
///   conversation would teach replies without their question.
public enum TrainingData {
    public static func load(
        path: String, format: TrainingDataFormat, tokenizer: Tokenizer, chatTemplate: ChatTemplate?,
        contextLength: Int, validationFraction: Double, seed: UInt64
    ) throws -> TrainingDataSplit {
        guard contextLength >= 2 else { throw TrainingDataError.invalidContextLength(contextLength) }
        let text = try readText(path)
        let examples: [TokenizedExample]
        switch format {
        case .text:
            examples = try textWindows(text, path: path, tokenizer: tokenizer, contextLength: contextLength)
        case .chat:
            guard let chatTemplate else { throw TrainingDataError.chatTemplateRequired }
            let encoder = ChatExampleEncoder(tokenizer: tokenizer, template: chatTemplate)
            examples = try JSONLines.parse(text, path: path).map { line in
                let messages = try line.objects("messages").map { object in
                    let message = JSONLines.Line(object: object, location: line.location)
                    return ChatMessage(role: try message.string("role"), content: try message.string("content"))
                }
                return try encoder.encode(messages, at: line.location)
            }
        case .completion:
            guard let eos = tokenizer.eosID else { throw TrainingDataError.missingEndOfSequenceToken }
            examples = try JSONLines.parse(text, path: path).map { line in
                let prompt = tokenizer.encode(try line.string("prompt"))
                let completion = tokenizer.encode(try line.string("completion"), addBOS: false) + [eos]
                return TokenizedExample(
                    tokens: prompt + completion,
                    lossMask: [Bool](repeating: false, count: prompt.count) + [Bool](repeating: true, count: completion.count),
                    location: line.location)
            }
        }
        guard !examples.isEmpty else { throw TrainingDataError.emptyFile(path: path) }
        for example in examples where example.scoredTokenCount == 0 {
            throw TrainingDataError.noScoredTokens(example.location)
        }

        let split = try ValidationSplit(count: examples.count, fraction: validationFraction, seed: seed, path: path)
        let train = split.train.map { examples[$0] }
        let validation = split.validation.map { examples[$0] }
        if format == .text {
            // Windows are already context-sized: each is its own sequence.
            return TrainingDataSplit(
                train: try train.map { try TrainingSequence(tokens: $0.tokens, lossMask: $0.lossMask) },
                validation: try validation.map { try TrainingSequence(tokens: $0.tokens, lossMask: $0.lossMask) },
                trainExampleCount: train.count, validationExampleCount: validation.count)
        }
        guard let eos = tokenizer.eosID else { throw TrainingDataError.missingEndOfSequenceToken }
        let packer = SequencePacker(contextLength: contextLength, endOfSequence: eos)
        return TrainingDataSplit(
            train: try packer.pack(train), validation: try packer.pack(validation),
            trainExampleCount: train.count, validationExampleCount: validation.count)
    }

    private static func readText(_ path: String) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TrainingDataError.unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TrainingDataError.unreadableFile(path: path, reason: "not valid UTF-8")
        }
        guard !text.allSatisfy(\.isWhitespace) else { throw TrainingDataError.emptyFile(path: path) }
        return text
    }

    private static func textWindows(_ text: String, path: String, tokenizer: Tokenizer, contextLength: Int) throws -> [TokenizedExample] {
        let tokens = tokenizer.encode(text)
        let location = TrainingDataError.SourceLocation(path: path, line: nil)
        guard tokens.count >= 2 else { throw TrainingDataError.noScoredTokens(location) }
        return stride(from: 0, to: tokens.count - 1, by: contextLength - 1).map { start in
            let window = Array(tokens[start..<min(start + contextLength, tokens.count)])
            return TokenizedExample(tokens: window, lossMask: [Bool](repeating: true, count: window.count), location: location)
        }
    }
}
