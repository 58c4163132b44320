/// A prompt list file: one prompt per line, with `\n` standing for a newline and `\\` for
/// a backslash (the form the reference logits files use), so multi-line prompts fit on
/// one line. Blank lines are skipped.
public enum PromptFile {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unknownEscape(line: Int, escape: String)
        case noPrompts

        public var description: String {
            switch self {
            case .unknownEscape(let line, let escape):
                return "line \(line): unknown escape '\\\(escape)' (only \\n and \\\\ are allowed)"
            case .noPrompts:
                return "the prompt file has no prompts (one prompt per line)"
            }
        }
    }

    /// The prompts of `text`, escapes resolved.
    public static func parse(_ text: String) throws -> [String] {
        var prompts: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let raw = line.hasSuffix("\r") ? line.dropLast() : line[...]
            guard !raw.allSatisfy(\.isWhitespace) else { continue }
            prompts.append(try unescape(raw, line: index + 1))
        }
        guard !prompts.isEmpty else { throw Failure.noPrompts }
        return prompts
    }

    private static func unescape(_ raw: Substring, line: Int) throws -> String {
        var out = ""
        var escaping = false
        for c in raw {
            if escaping {
                switch c {
                case "n": out.append("\n")
                case "\\": out.append("\\")
                default: throw Failure.unknownEscape(line: line, escape: String(c))
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                out.append(c)
            }
        }
        if escaping { throw Failure.unknownEscape(line: line, escape: "") }
        return out
    }
}
