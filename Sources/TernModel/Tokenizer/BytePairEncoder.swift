/// Byte-level BPE (`tokenizer.ggml.model = gpt2`): a pre-tokenized piece is spelled in
/// GPT-2's byte characters, then adjacent symbols are merged lowest merge rank first.
struct BytePairEncoder: Sendable {
    private struct Merge: Sendable {
        let rank: Int32
        let result: Int32
    }

    /// Token id of each single byte's character, or `missing` (some vocabularies lack
    /// control bytes; llama.cpp then drops such bytes, and so do we).
    private let byteTokens: [Int32]
    private static let missing: Int32 = -1
    /// (left id, right id) → rank and merged id.
    private let merges: [UInt64: Merge]
    private let ids: [String: Int32]
    /// Llama-3 vocabularies emit a whole piece that is itself a token, skipping merges.
    private let ignoreMerges: Bool

    init(vocabulary: Vocabulary, metadata: [String: GGUFValue], ignoreMerges: Bool) throws {
        let key = "tokenizer.ggml.merges"
        guard let raw = metadata[key] else { throw TokenizerError.missingKey(key) }
        guard case .array(.string, let items) = raw else {
            throw TokenizerError.badValue(key: key, reason: "expected an array of strings")
        }
        ids = vocabulary.ids
        byteTokens = ByteLevelEncoding.characters.map { vocabulary.ids[String($0)] ?? Self.missing }
        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(items.count)
        for (rank, item) in items.enumerated() {
            guard let line = item.stringValue else { continue }
            let scalars = Array(line.unicodeScalars)
            // Split at the first space after the first character (a lone space can't start a pair).
            guard scalars.count >= 3, let space = scalars.dropFirst().firstIndex(of: " ") else {
                throw TokenizerError.badValue(key: key, reason: "entry \(rank) '\(line)' is not 'left right'")
            }
            var left = String.UnicodeScalarView(), right = String.UnicodeScalarView()
            left.append(contentsOf: scalars[..<space])
            right.append(contentsOf: scalars[(space + 1)...])
            let l = String(left), r = String(right)
            // Merges whose parts or result are not tokens can never apply to token symbols.
            guard let li = ids[l], let ri = ids[r], let result = ids[l + r] else { continue }
            let pair = UInt64(UInt32(bitPattern: li)) << 32 | UInt64(UInt32(bitPattern: ri))
            if merges[pair] == nil { merges[pair] = Merge(rank: Int32(rank), result: result) }
        }
        self.merges = merges
        self.ignoreMerges = ignoreMerges
    }

    /// Token ids of one pre-tokenized piece (its UTF-8 bytes).
    func encode(_ utf8: ArraySlice<UInt8>, into output: inout [Int32]) {
        if ignoreMerges, let whole = ids[ByteLevelEncoding.encode(utf8)] {
            output.append(whole)
            return
        }
        var symbols = utf8.map { byteTokens[Int($0)] }
        var queue = MergeQueue(lengths: Array(repeating: 1, count: symbols.count))
        func consider(_ left: Int) {
            guard left >= 0, case let right = queue.next[left], right >= 0 else { return }
            let pair = UInt64(UInt32(bitPattern: symbols[left])) << 32 | UInt64(UInt32(bitPattern: symbols[right]))
            if let m = merges[pair] { queue.push(left: left, cost: Double(m.rank), result: m.result) }
        }
        for i in symbols.indices { consider(i) }
        while let c = queue.popValid() {
            symbols[c.left] = c.result
            let before = queue.merge(c)
            consider(before)
            consider(c.left)
        }
        for i in queue.survivors where symbols[i] != Self.missing { output.append(symbols[i]) }
    }
}
