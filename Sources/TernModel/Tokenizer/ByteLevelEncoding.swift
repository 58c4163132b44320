/// GPT-2's reversible byte → printable character mapping: byte-level BPE vocabularies
/// spell every byte as one of these characters (space is `Ġ`, newline is `Ċ`).
enum ByteLevelEncoding {
    /// `characters[b]` is the character that stands for byte `b`.
    static let characters: [Character] = {
        var map = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                map[b] = UInt32(b)
            } else {
                map[b] = next
                next += 1
            }
        }
        return map.map { Character(Unicode.Scalar($0)!) }
    }()

    /// Inverse of `characters`, keyed by Unicode scalar value.
    static let bytes: [UInt32: UInt8] = {
        var inverse: [UInt32: UInt8] = [:]
        for (b, c) in characters.enumerated() { inverse[c.unicodeScalars.first!.value] = UInt8(b) }
        return inverse
    }()

    static func encode<S: Sequence>(_ utf8: S) -> String where S.Element == UInt8 {
        var s = ""
        for b in utf8 { s.append(characters[Int(b)]) }
        return s
    }

    /// Bytes of a byte-level token; characters outside the mapping keep their UTF-8 bytes.
    static func decode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            if let b = bytes[scalar.value] { out.append(b) } else { out.append(contentsOf: String(scalar).utf8) }
        }
        return out
    }
}
