/// Where each token of an encoded text lies in that text, in UTF-8 bytes: the bridge that
/// lets chat masking work on character ranges of the rendered template while the tokens
/// come from encoding the whole text in one go (exactly what the model sees at inference).
enum TokenByteSpans {
    /// The byte range of each token in `text`, or nil when the tokens do not spell `text`
    /// back (a vocabulary that drops bytes). A SentencePiece token may carry the space the
    /// tokenizer put in front of the text; that space covers no byte of `text`.
    static func spans(of tokens: [Int32], in text: String, tokenizer: Tokenizer) -> [Range<Int>]? {
        let utf8 = Array(text.utf8)
        var cursor = 0
        var spans: [Range<Int>] = []
        spans.reserveCapacity(tokens.count)
        for token in tokens {
            var bytes = tokenizer.bytes(of: token)[...]
            if !matches(bytes, utf8, at: cursor), bytes.first == 0x20, matches(bytes.dropFirst(), utf8, at: cursor) {
                bytes = bytes.dropFirst()
            }
            guard matches(bytes, utf8, at: cursor) else { return nil }
            spans.append(cursor..<cursor + bytes.count)
            cursor += bytes.count
        }
        return cursor == utf8.count ? spans : nil
    }

    private static func matches(_ bytes: ArraySlice<UInt8>, _ utf8: [UInt8], at cursor: Int) -> Bool {
        cursor + bytes.count <= utf8.count && utf8[cursor..<cursor + bytes.count].elementsEqual(bytes)
    }
}
