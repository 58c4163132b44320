/// SentencePiece-style tokenization (`tokenizer.ggml.model = llama`): spaces become `▁`,
/// characters merge into the adjacent pair whose concatenation is the highest-scoring
/// token, and characters that never became a token fall back to `<0xNN>` byte tokens.
struct SentencePieceEncoder: Sendable {
    static let spaceMarker = "\u{2581}"  // ▁

    private let ids: [String: Int32]
    private let scores: [Float]
    /// `<0xNN>` token of each byte, if the vocabulary has it.
    private let byteTokens: [Int32?]
    private let unknown: Int32?

    init(vocabulary: Vocabulary, unknown: Int32?) {
        ids = vocabulary.ids
        scores = vocabulary.scores
        byteTokens = (0..<256).map { b in
            let hex = String(b, radix: 16, uppercase: true)
            return vocabulary.ids["<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"]
        }
        self.unknown = unknown
    }

    /// Token ids of `text`, which already has its spaces replaced by `▁`.
    func encode(_ text: String, into output: inout [Int32]) {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty else { return }
        let lengths = text.unicodeScalars.map { UTF8.width($0) }
        var queue = MergeQueue(lengths: lengths)
        func token(_ from: Int, _ count: Int) -> Int32? {
            ids[String(decoding: utf8[from..<from + count], as: UTF8.self)]
        }
        func consider(_ left: Int) {
            guard left >= 0, case let right = queue.next[left], right >= 0 else { return }
            let from = queue.start[left]
            if let id = token(from, queue.length[left] + queue.length[right]) {
                queue.push(left: left, cost: -Double(scores[Int(id)]), result: id)
            }
        }
        for i in lengths.indices { consider(i) }
        while let c = queue.popValid() {
            let before = queue.merge(c)
            consider(before)
            consider(c.left)
        }
        for i in queue.survivors {
            let from = queue.start[i], count = queue.length[i]
            if let id = token(from, count) {
                output.append(id)
                continue
            }
            for b in utf8[from..<from + count] {
                if let id = byteTokens[Int(b)] ?? unknown { output.append(id) }
            }
        }
    }
}
