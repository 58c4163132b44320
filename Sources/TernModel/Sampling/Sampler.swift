#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How to pick the next token. Defaults follow llama.cpp's command-line defaults.
public struct SamplingConfiguration: Sendable, Equatable, Codable {
    /// 0 (or less) means greedy: always the most likely token.
    public var temperature: Float = 0.8
    /// Keep only the k most likely tokens; 0 disables.
    public var topK: Int = 40
    /// Keep the smallest set of tokens whose probability reaches p; 1 disables.
    public var topP: Float = 0.95
    /// Drop tokens less likely than minP × the best token's probability; 0 disables.
    public var minP: Float = 0.05
    /// Divide positive (multiply negative) logits of recently seen tokens; 1 disables.
    public var repetitionPenalty: Float = 1.0
    /// How many of the most recent tokens the repetition penalty looks at.
    public var repetitionWindow: Int = 64
    public var seed: UInt64 = 0

    public init() {}

    public static let greedy: SamplingConfiguration = {
        var c = SamplingConfiguration()
        c.temperature = 0
        return c
    }()
}

public enum SamplerError: Error, Equatable, CustomStringConvertible {
    case noCandidates
    public var description: String { "sampling needs at least one finite logit" }
}

/// Picks tokens from logits. A value type holding its own seeded random source, so the
/// same configuration, seed and logits give the same tokens.
/// Order as in llama.cpp: repetition penalty, top-k, top-p, min-p, temperature, draw.
public struct Sampler: Sendable {
    public let configuration: SamplingConfiguration
    private var random: RandomSource

    public init(_ configuration: SamplingConfiguration) {
        self.configuration = configuration
        random = RandomSource(seed: configuration.seed)
    }

    /// Moves the random source past the one draw `sample` makes for a token (none when
    /// greedy): a request resumed after n tokens skips n draws and samples what it would have.
    public mutating func skipDraw() {
        if configuration.temperature > 0 { _ = random.nextUnit() }
    }

    /// The next token for `logits` (one per vocabulary entry), given the tokens so far.
    public mutating func sample(logits: [Float], history: [Int32] = []) throws -> Int32 {
        let c = configuration
        var adjusted = logits.map { $0.isNaN ? -Float.infinity : $0 }
        Self.applyRepetitionPenalty(&adjusted, history: history.suffix(max(0, c.repetitionWindow)), penalty: c.repetitionPenalty)

        var candidates = adjusted.indices.filter { adjusted[$0] > -.infinity }
        guard !candidates.isEmpty else { throw SamplerError.noCandidates }
        if c.temperature <= 0 {
            // First index wins ties, like llama.cpp's greedy sampler.
            return Int32(candidates.max { adjusted[$0] < adjusted[$1] || (adjusted[$0] == adjusted[$1] && $0 > $1) }!)
        }
        let ranksHigher = { (a: Int, b: Int) in adjusted[a] > adjusted[b] || (adjusted[a] == adjusted[b] && a < b) }
        var nucleusDone = false
        if c.topK > 0, candidates.count > c.topK {
            candidates = Self.best(c.topK, of: candidates, by: ranksHigher)
        } else if c.topP < 1 {
            // No top-k (the OpenAI API sends none): find the nucleus without sorting the vocabulary.
            candidates = Self.nucleus(candidates, logits: adjusted, topP: c.topP, by: ranksHigher)
            nucleusDone = true
        } else {
            candidates.sort(by: ranksHigher)
        }

        if c.topP < 1, !nucleusDone {
            let probabilities = Self.softmax(candidates.map { adjusted[$0] }, temperature: 1)
            var cumulative = 0.0
            var keep = candidates.count
            for (i, p) in probabilities.enumerated() {
                cumulative += p
                if cumulative >= Double(c.topP) {
                    keep = i + 1
                    break
                }
            }
            candidates.removeLast(candidates.count - keep)
        }
        if c.minP > 0, let best = candidates.first {
            // p_i ≥ minP·p_max  ⇔  logit_i ≥ logit_max + ln(minP)
            let threshold = adjusted[best] + Float(log(Double(c.minP)))
            candidates.removeAll { adjusted[$0] < threshold }
        }

        let probabilities = Self.softmax(candidates.map { adjusted[$0] }, temperature: c.temperature)
        var draw = random.nextUnit()
        for (i, p) in probabilities.enumerated() {
            draw -= p
            if draw < 0 { return Int32(candidates[i]) }
        }
        return Int32(candidates[candidates.count - 1])
    }

    /// The smallest best-first prefix of `items` whose probabilities (softmax of `logits`)
    /// reach `topP` — what sorting every item and cutting the cumulative sum gives — from
    /// the `best` 64, 512, … items until the prefix is found: a 49k vocabulary is scanned a
    /// few times instead of sorted (≈ 6 ms per token before). The normalizing sum runs in
    /// index order rather than rank order, which can move a cut that falls within rounding of
    /// `topP` by one token.
    static func nucleus(_ items: [Int], logits: [Float], topP: Float, by ranksHigher: (Int, Int) -> Bool) -> [Int] {
        var maxLogit = -Float.infinity
        for item in items { maxLogit = max(maxLogit, logits[item]) }
        var total = 0.0
        for item in items { total += exp(Double(logits[item]) - Double(maxLogit)) }
        var k = min(items.count, 64)
        while true {
            let top = k >= items.count ? items.sorted(by: ranksHigher) : best(k, of: items, by: ranksHigher)
            var cumulative = 0.0
            for (i, item) in top.enumerated() {
                cumulative += exp(Double(logits[item]) - Double(maxLogit)) / total
                if cumulative >= Double(topP) { return Array(top.prefix(i + 1)) }
            }
            if k >= items.count { return top }
            k = min(items.count, k * 8)
        }
    }

    /// The `k` best of `items`, best first, without sorting the whole vocabulary.
    static func best(_ k: Int, of items: [Int], by ranksHigher: (Int, Int) -> Bool) -> [Int] {
        var top: [Int] = []
        top.reserveCapacity(k + 1)
        for item in items {
            if top.count == k, !ranksHigher(item, top[k - 1]) { continue }
            var low = 0, high = top.count
            while low < high {
                let mid = (low + high) / 2
                if ranksHigher(item, top[mid]) { high = mid } else { low = mid + 1 }
            }
            top.insert(item, at: low)
            if top.count > k { top.removeLast() }
        }
        return top
    }

    static func applyRepetitionPenalty(_ logits: inout [Float], history: ArraySlice<Int32>, penalty: Float) {
        guard penalty != 1, penalty > 0 else { return }
        for token in Set(history) where logits.indices.contains(Int(token)) {
            let i = Int(token)
            logits[i] = logits[i] > 0 ? logits[i] / penalty : logits[i] * penalty
        }
    }

    /// Probabilities of `logits / temperature`, computed in Double for stable sums.
    static func softmax(_ logits: [Float], temperature: Float) -> [Double] {
        guard let maxLogit = logits.max() else { return [] }
        let t = Double(temperature)
        let exps = logits.map { exp((Double($0) - Double(maxLogit)) / t) }
        let sum = exps.reduce(0, +)
        return exps.map { $0 / sum }
    }
}
