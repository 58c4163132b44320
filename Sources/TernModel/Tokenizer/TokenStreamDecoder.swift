/// Turns tokens into text one at a time, holding back the bytes of a UTF-8 character that
/// is split across tokens (common for emoji and CJK in byte-level vocabularies) until it is
/// complete. Bytes that can never form a character come out as U+FFFD.
public struct TokenStreamDecoder: Sendable {
    private let tokenizer: Tokenizer
    private var pending: [UInt8] = []
    private var isFirstToken = true

    public init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }

    /// The text that `id` completes (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        var bytes = tokenizer.bytes(of: id)
        // SentencePiece adds a space before the text when encoding; drop it when decoding.
        if isFirstToken, tokenizer.addsSpacePrefix, tokenizer.kind(of: id) == .normal, bytes.first == UInt8(ascii: " ") {
            bytes.removeFirst()
        }
        if tokenizer.kind(of: id) == .normal || tokenizer.kind(of: id) == .byte { isFirstToken = false }
        pending += bytes
        return drainComplete()
    }

    /// Whatever is still held back, with incomplete characters as U+FFFD.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    private mutating func drainComplete() -> String {
        let keep = Self.incompleteSuffixLength(pending)
        let ready = pending[..<(pending.count - keep)]
        let text = String(decoding: ready, as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return text
    }

    /// Length of a trailing, still-completable UTF-8 sequence (0 to 3 bytes).
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        for back in 1...min(3, max(bytes.count, 1)) where back <= bytes.count {
            let b = bytes[bytes.count - back]
            if b & 0xC0 == 0x80 { continue }  // continuation byte: look further back
            let needed = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 && b < 0xF0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 1
            return needed > back ? back : 0
        }
        return 0
    }
}
