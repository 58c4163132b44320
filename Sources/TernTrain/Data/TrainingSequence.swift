/// One training sequence after tokenization and packing: the model reads `tokens[0..<n-1]`
/// and is scored on predicting `tokens[i+1]` wherever `lossMask[i+1]` is true (assistant
/// tokens of a chat, the completion of a prompt/completion pair, every token of plain text).
public struct TrainingSequence: Sendable, Equatable {
    public let tokens: [Int32]
    /// Same length as `tokens`: whether the token at that index counts in the loss.
    public let lossMask: [Bool]

    public init(tokens: [Int32], lossMask: [Bool]) throws {
        guard tokens.count == lossMask.count else {
            throw TrainingDataError.maskLength(tokens: tokens.count, mask: lossMask.count)
        }
        self.tokens = tokens
        self.lossMask = lossMask
    }

    /// Tokens whose prediction is scored (the first token is never predicted).
    public var scoredTokenCount: Int { lossMask.dropFirst().filter { $0 }.count }
}
