/// Splits text into the pieces BPE runs on, exactly as llama.cpp's regexes do, but with a
/// hand-written scanner (regex engines are slow on Linux). Names are `tokenizer.ggml.pre`.
public enum PreTokenizer: String, Sendable, CaseIterable, Codable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Every digit alone (`\p{N}`), then the gpt2 rules inside each remaining span.
    case smollm
    /// Llama-3: case-insensitive contractions, `[^\r\n\p{L}\p{N}]?\p{L}+`, digits in groups
    /// of at most three, punctuation runs with trailing newlines, newline-ending whitespace.
    case llamaBPE = "llama-bpe"

    /// The pieces `text` is cut into before BPE.
    public func pieces(of text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        return split(scalars).map { range in
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return String(view)
        }
    }

    /// The pieces of `text`, as ranges of indices into `scalars`.
    func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        let classes = scalars.map(CharacterClass.of)
        var pieces: [Range<Int>] = []
        switch self {
        case .gpt2:
            Self.splitGPT2(scalars, classes, 0..<scalars.count, into: &pieces)
        case .smollm:
            var start = 0
            for i in scalars.indices where classes[i] == .number {
                Self.splitGPT2(scalars, classes, start..<i, into: &pieces)
                pieces.append(i..<i + 1)
                start = i + 1
            }
            Self.splitGPT2(scalars, classes, start..<scalars.count, into: &pieces)
        case .llamaBPE:
            Self.splitLlama3(scalars, classes, into: &pieces)
        }
        return pieces
    }

    /// Length of an English contraction (`'s`, `'re`, …) starting at `pos`, or 0.
    private static func contractionLength(_ s: [Unicode.Scalar], at pos: Int, end: Int, caseInsensitive: Bool) -> Int {
        guard s[pos] == "'", pos + 1 < end else { return 0 }
        func lower(_ i: Int) -> Unicode.Scalar {
            let c = s[i]
            return caseInsensitive && ("A"..."Z").contains(c) ? Unicode.Scalar(c.value + 32)! : c
        }
        let a = lower(pos + 1)
        if a == "s" || a == "t" || a == "m" || a == "d" { return 2 }
        guard pos + 2 < end else { return 0 }
        let b = lower(pos + 2)
        if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return 3 }
        return 0
    }

    private static func splitGPT2(_ s: [Unicode.Scalar], _ classes: [CharacterClass], _ range: Range<Int>, into pieces: inout [Range<Int>]) {
        let end = range.upperBound
        func cls(at i: Int) -> CharacterClass? { i < end ? classes[i] : nil }
        var pos = range.lowerBound
        while pos < end {
            let start = pos
            let contraction = contractionLength(s, at: pos, end: end, caseInsensitive: false)
            if contraction > 0 {
                pos += contraction
                pieces.append(start..<pos)
                continue
            }
            // ` ?X+` for X in letters, numbers, other (not whitespace)
            let lead = s[pos] == " " ? cls(at: pos + 1) : classes[pos]
            if let lead, lead != .whitespace {
                if s[pos] == " " { pos += 1 }
                while cls(at: pos) == lead { pos += 1 }
                pieces.append(start..<pos)
                continue
            }
            var spaces = 0
            while cls(at: pos + spaces) == .whitespace { spaces += 1 }
            if spaces > 1 && pos + spaces < end {
                pos += spaces - 1  // `\s+(?!\S)`: leave the last space to prefix the next word
            } else if spaces > 0 {
                pos += spaces
            } else {
                pos += 1
            }
            pieces.append(start..<pos)
        }
    }

    private static func splitLlama3(_ s: [Unicode.Scalar], _ classes: [CharacterClass], into pieces: inout [Range<Int>]) {
        let end = s.count
        func cls(at i: Int) -> CharacterClass? { i < end ? classes[i] : nil }
        func isNewline(_ i: Int) -> Bool { i < end && (s[i] == "\r" || s[i] == "\n") }
        var pos = 0
        while pos < end {
            let start = pos
            let contraction = contractionLength(s, at: pos, end: end, caseInsensitive: true)
            if contraction > 0 {
                pos += contraction
                pieces.append(start..<pos)
                continue
            }
            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            if !isNewline(pos), classes[pos] != .number, classes[pos] == .letter || cls(at: pos + 1) == .letter {
                pos += 1
                while cls(at: pos) == .letter { pos += 1 }
                pieces.append(start..<pos)
                continue
            }
            // `\p{N}{1,3}`
            if classes[pos] == .number {
                var groupStart = pos
                while cls(at: pos) == .number {
                    pos += 1
                    if pos - groupStart >= 3 {
                        pieces.append(groupStart..<pos)
                        groupStart = pos
                    }
                }
                if groupStart < pos { pieces.append(groupStart..<pos) }
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let lead = s[pos] == " " ? cls(at: pos + 1) : classes[pos]
            if lead == .other {
                if s[pos] == " " { pos += 1 }
                while cls(at: pos) == .other { pos += 1 }
                while isNewline(pos) { pos += 1 }
                pieces.append(start..<pos)
                continue
            }
            var spaces = 0
            var lastNewlineEnd = 0
            while cls(at: pos + spaces) == .whitespace {
                if isNewline(pos + spaces) { lastNewlineEnd = pos + spaces + 1 }
                spaces += 1
            }
            if lastNewlineEnd > 0 {
                pos = lastNewlineEnd  // `\s*[\r\n]+`
            } else if spaces > 1 && pos + spaces < end {
                pos += spaces - 1  // `\s+(?!\S)`
            } else if spaces > 0 {
                pos += spaces
            } else {
                pos += 1
            }
            pieces.append(start..<pos)
        }
    }
}
