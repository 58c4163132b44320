/// One example after tokenization, before packing: its tokens, which of them are learned,
/// and where it came from (for errors).
struct TokenizedExample: Sendable, Equatable {
    var tokens: [Int32]
    var lossMask: [Bool]
    let location: TrainingDataError.SourceLocation

    var scoredTokenCount: Int { lossMask.dropFirst().filter { $0 }.count }
}
