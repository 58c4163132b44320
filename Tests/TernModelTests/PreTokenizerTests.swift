import Testing
import TernModel

/// Expected pieces come from Python's `regex` module running the original patterns.
@Suite struct PreTokenizerTests {
    static let cases: [(text: String, gpt2: [String], llama3: [String])] = [
        ("Hello world's END'S 12345 x",
         ["Hello", " world", "'s", " END", "'", "S", " 12345", " x"],
         ["Hello", " world", "'s", " END", "'S", " ", "123", "45", " x"]),
        ("  leading\n\n  spaces\t\ttabs  ",
         [" ", " leading", "\n\n ", " spaces", "\t", "\t", "tabs", "  "],
         [" ", " leading", "\n\n", " ", " spaces", "\t", "\ttabs", "  "]),
        ("a.b,,c!!  ?? \r\n\r\nnext",
         ["a", ".", "b", ",,", "c", "!!", " ", " ??", " \r\n\r", "\n", "next"],
         ["a", ".b", ",,", "c", "!!", " ", " ??", " \r\n\r\n", "next"]),
        ("I'LL we've 1234567 €3,50 東京 🚀🚀",
         ["I", "'", "LL", " we", "'ve", " 1234567", " €", "3", ",", "50", " 東京", " 🚀🚀"],
         ["I", "'LL", " we", "'ve", " ", "123", "456", "7", " €", "3", ",", "50", " 東京", " 🚀🚀"]),
        ("x  \n  y", ["x", "  \n ", " y"], ["x", "  \n", " ", " y"]),
        ("don't'", ["don", "'t", "'"], ["don", "'t", "'"]),
        (" \u{00A0}nbsp", [" ", "\u{00A0}", "nbsp"], [" ", "\u{00A0}nbsp"]),
        ("", [], []),
    ]

    @Test func gpt2MatchesTheRegex() {
        for c in Self.cases { #expect(PreTokenizer.gpt2.pieces(of: c.text) == c.gpt2, "\(c.text.debugDescription)") }
    }

    @Test func llama3MatchesTheRegex() {
        for c in Self.cases { #expect(PreTokenizer.llamaBPE.pieces(of: c.text) == c.llama3, "\(c.text.debugDescription)") }
    }

    @Test func smollmSplitsEveryDigit() {
        #expect(PreTokenizer.smollm.pieces(of: "x 2024 a1") == ["x", " ", "2", "0", "2", "4", " a", "1"])
    }

    @Test func piecesAlwaysCoverTheText() {
        var random = RandomSource(seed: 42)
        let alphabet = Array("aZ9 \n\t'.,€東🚀\r\u{00A0}sS")
        for _ in 0..<300 {
            let text = String((0..<Int(random.next() % 24)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            for pre in PreTokenizer.allCases { #expect(pre.pieces(of: text).joined() == text) }
        }
    }
}
