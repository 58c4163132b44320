/// Finds stop strings in streamed text. Text that could still turn into a stop string is
/// held back, so a client never sees the start of a stop string that then completes.
/// Matching is on Unicode scalars, so chunk boundaries inside a character are harmless.
public struct StopStringMatcher: Sendable {
    public let stopStrings: [String]
    private let stops: [[Unicode.Scalar]]
    private var held: [Unicode.Scalar] = []
    public private(set) var stopped = false

    public init(_ stopStrings: [String]) {
        self.stopStrings = stopStrings.filter { !$0.isEmpty }
        stops = self.stopStrings.map { Array($0.unicodeScalars) }
    }

    /// Adds generated text; returns what is safe to show. After a stop string appears the
    /// text before it is returned, `stopped` becomes true and later input is ignored.
    public mutating func feed(_ text: String) -> String {
        guard !stopped else { return "" }
        held.append(contentsOf: text.unicodeScalars)
        if let stopAt = earliestMatch() {
            stopped = true
            let out = Self.string(held[..<stopAt])
            held.removeAll()
            return out
        }
        let keep = longestPendingPrefix()
        let out = Self.string(held[..<(held.count - keep)])
        held.removeFirst(held.count - keep)
        return out
    }

    /// The held-back text, once generation ends for another reason (EOS, length).
    public mutating func finish() -> String {
        defer { held.removeAll() }
        return stopped ? "" : Self.string(held[...])
    }

    private func earliestMatch() -> Int? {
        var best: Int?
        for stop in stops where stop.count <= held.count {
            for start in 0...(held.count - stop.count) where best.map({ start < $0 }) ?? true {
                if held[start..<start + stop.count].elementsEqual(stop) {
                    best = start
                    break
                }
            }
        }
        return best
    }

    /// Length of the longest suffix of `held` that is a proper prefix of some stop string.
    private func longestPendingPrefix() -> Int {
        var longest = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, held.count), to: longest, by: -1)
            where held[(held.count - length)...].elementsEqual(stop[..<length]) {
                longest = length
                break
            }
        }
        return longest
    }

    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
