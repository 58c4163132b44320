/// Packs short examples into context-length training sequences, in order, first fit: an
/// example joins the current sequence while it fits, else starts the next one. Examples are
/// never cut: one longer than the context is an error naming its line, and each keeps its own mask.
///
/// Consecutive examples are separated by the end-of-sequence token unless the first already
/// ends with it. The separator is not learned, and neither is the first token of an example
/// (a role header or a prompt), so no loss ever asks the model to predict one example from
/// another. Attention still sees the earlier examples of a sequence (no document masking).
struct SequencePacker {
    let contextLength: Int
    let endOfSequence: Int32

    func pack(_ examples: [TokenizedExample]) throws -> [TrainingSequence] {
        var sequences: [TrainingSequence] = []
        var tokens: [Int32] = []
        var mask: [Bool] = []
        func flush() throws {
            guard !tokens.isEmpty else { return }
            sequences.append(try TrainingSequence(tokens: tokens, lossMask: mask))
            tokens.removeAll(keepingCapacity: true)
            mask.removeAll(keepingCapacity: true)
        }
        for example in examples {
            guard example.tokens.count <= contextLength else {
                throw TrainingDataError.exampleTooLong(example.location, tokens: example.tokens.count, contextLength: contextLength)
            }
            let separator = !tokens.isEmpty && tokens.last != endOfSequence
            if tokens.count + (separator ? 1 : 0) + example.tokens.count > contextLength {
                try flush()
            } else if separator {
                tokens.append(endOfSequence)
                mask.append(false)
            }
            tokens += example.tokens
            mask += example.lossMask
        }
        try flush()
        return sequences
    }
}
