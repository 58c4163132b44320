import Foundation
import Testing
import TernModel

@Suite struct SamplerTests {
    static func configuration(_ edit: (inout SamplingConfiguration) -> Void) -> SamplingConfiguration {
        var c = SamplingConfiguration()
        c.topK = 0
        c.topP = 1
        c.minP = 0
        c.temperature = 1
        edit(&c)
        return c
    }

    static func counts(_ c: SamplingConfiguration, _ logits: [Float], draws: Int = 4000, history: [Int32] = []) throws -> [Int] {
        var sampler = Sampler(c)
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<draws { counts[Int(try sampler.sample(logits: logits, history: history))] += 1 }
        return counts
    }

    @Test func greedyPicksTheFirstMaximum() throws {
        var s = Sampler(.greedy)
        #expect(try s.sample(logits: [0.1, 3, -2, 3]) == 1)
        #expect(try s.sample(logits: [.nan, 1, 0]) == 1)
        #expect(throws: SamplerError.noCandidates) { try s.sample(logits: []) }
        #expect(throws: SamplerError.noCandidates) { try s.sample(logits: [.nan, -.infinity]) }
    }

    @Test func temperatureOneFollowsTheSoftmax() throws {
        let p: [Float] = [0.6, 0.3, 0.1]
        let counts = try Self.counts(Self.configuration { _ in }, p.map { Float(Foundation.log(Double($0))) }, draws: 20_000)
        for i in 0..<3 { #expect(abs(Double(counts[i]) / 20_000 - Double(p[i])) < 0.02, "token \(i): \(counts)") }
    }

    @Test func lowTemperatureSharpensHighFlattens() throws {
        let logits: [Float] = [1, 0]
        let cold = try Self.counts(Self.configuration { $0.temperature = 0.2 }, logits)
        let hot = try Self.counts(Self.configuration { $0.temperature = 5 }, logits)
        #expect(cold[0] > 3900)
        #expect(hot[0] > 1800 && hot[0] < 2600)
    }

    @Test func sameSeedSameTokensDifferentSeedDifferentTokens() throws {
        let logits: [Float] = (0..<50).map { _ in 0 }
        func run(_ seed: UInt64) throws -> [Int32] {
            var s = Sampler(Self.configuration { $0.seed = seed })
            return try (0..<40).map { _ in try s.sample(logits: logits) }
        }
        #expect(try run(7) == run(7))
        #expect(try run(7) != run(8))
    }

    @Test func topKKeepsOnlyTheBestK() throws {
        let counts = try Self.counts(Self.configuration { $0.topK = 2; $0.temperature = 10 }, [3, 1, 2, 0])
        #expect(counts[1] == 0 && counts[3] == 0)
        #expect(counts[0] > 0 && counts[2] > 0)
    }

    @Test func topKOnALargeVocabularyKeepsExactlyTheKBest() throws {
        var random = RandomSource(seed: 3)
        let logits = (0..<5000).map { _ in Float(random.nextUnit() * 10) }
        let best = Set(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5).map { Int32($0) })
        var s = Sampler(Self.configuration { $0.topK = 5; $0.temperature = 100 })
        var seen = Set<Int32>()
        for _ in 0..<500 { seen.insert(try s.sample(logits: logits)) }
        #expect(seen == best)
    }

    @Test func topPKeepsTheSmallestSufficientSet() throws {
        // Probabilities 0.6, 0.3, 0.1: top-p 0.8 keeps the first two.
        let logits = [0.6, 0.3, 0.1].map { Float(Foundation.log($0)) }
        let counts = try Self.counts(Self.configuration { $0.topP = 0.8 }, logits)
        #expect(counts[2] == 0 && counts[1] > 0)
        let tight = try Self.counts(Self.configuration { $0.topP = 0.5 }, logits)
        #expect(tight[0] == 4000)
    }

    /// Without top-k the nucleus is found by partial selection, not a sort of the vocabulary:
    /// it must keep the same tokens as sorting everything and cutting the cumulative sum.
    @Test(arguments: [Float(0.5), 0.9, 0.99, 0.999999])
    func topPWithoutTopKKeepsTheSortedNucleus(topP: Float) throws {
        var random = RandomSource(seed: 21)
        let logits = (0..<8192).map { _ in Float(random.nextUnit() * 40) }
        let sorted = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        let top = logits.max()!
        let weights = sorted.map { exp(Double(logits[$0]) - Double(top)) }
        let total = weights.reduce(0, +)
        var cumulative = 0.0, keep = sorted.count
        for (i, w) in weights.enumerated() {
            cumulative += w / total
            if cumulative >= Double(topP) { keep = i + 1; break }
        }
        let expected = Set(sorted.prefix(keep).map { Int32($0) })
        var s = Sampler(Self.configuration { $0.topP = topP; $0.temperature = 50 })
        var seen = Set<Int32>()
        for _ in 0..<(keep < 200 ? 2000 : 60) { seen.insert(try s.sample(logits: logits)) }
        #expect(seen.isSubset(of: expected))
        if keep < 200 { #expect(seen == expected, "kept \(keep)") }
        print("top-p \(topP): \(keep) of \(logits.count) kept")
    }

    @Test func minPDropsUnlikelyTokens() throws {
        // 0.2 / 0.6 ≥ 0.3 survives; 0.1 / 0.6 < 0.3 does not.
        let logits = [0.6, 0.2, 0.1, 0.1].map { Float(Foundation.log($0)) }
        let counts = try Self.counts(Self.configuration { $0.minP = 0.3 }, logits)
        #expect(counts[2] == 0 && counts[3] == 0 && counts[1] > 0)
    }

    @Test func repetitionPenaltyDiscouragesRecentTokens() throws {
        var c = SamplingConfiguration.greedy
        c.repetitionPenalty = 1.5
        var s = Sampler(c)
        #expect(try s.sample(logits: [2.0, 1.9], history: [0]) == 1)
        // Negative logits are multiplied: -1 → -1.5 falls below -1.2.
        #expect(try s.sample(logits: [-1.0, -1.2], history: [0]) == 1)
        // Only the last `repetitionWindow` tokens count.
        c.repetitionWindow = 1
        var windowed = Sampler(c)
        #expect(try windowed.sample(logits: [2.0, 1.9], history: [0, 1]) == 0)
    }
}

@Suite struct StopTests {
    @Test func holdsBackAPossibleStopString() {
        var m = StopStringMatcher(["<|end|>", "\n\nUser:"])
        #expect(m.feed("Hello <|") == "Hello ")
        #expect(m.feed("en") == "")
        #expect(m.feed("d|> ignored") == "")
        #expect(m.stopped)
        #expect(m.feed("more") == "")
        #expect(m.finish() == "")
    }

    @Test func releasesTextThatStopsMatching() {
        var m = StopStringMatcher(["STOP"])
        #expect(m.feed("a ST") == "a ")
        #expect(m.feed("x") == "STx")
        #expect(m.feed("S") == "")
        #expect(m.finish() == "S")
        #expect(!m.stopped)
    }

    @Test func earliestStopWinsAcrossChunks() {
        var m = StopStringMatcher(["bc", "abcd"])
        #expect(m.feed("xab") == "x")
        // "abcd" starts before "bc", so nothing of it is shown.
        #expect(m.feed("cd") == "")
        #expect(m.stopped)
        var later = StopStringMatcher(["cd", "bc"])
        #expect(later.feed("xbcd") == "x")
        var empty = StopStringMatcher([""])
        #expect(empty.feed("abc") == "abc")
    }

    @Test func stopConditions() {
        var eos = StopConditions(endTokenIDs: [2], stopStrings: ["##"], maxTokens: 10)
        #expect(eos.accept(token: 5, text: "hi #") == ("hi ", nil))
        #expect(eos.accept(token: 2, text: "") == ("#", .endOfGeneration))

        var length = StopConditions(endTokenIDs: [2], maxTokens: 2)
        #expect(length.accept(token: 5, text: "a") == ("a", nil))
        #expect(length.accept(token: 6, text: "b") == ("b", .length))

        var stop = StopConditions(endTokenIDs: [], stopStrings: ["\n"], maxTokens: 5)
        #expect(stop.accept(token: 1, text: "line\nnext") == ("line", .stopString))
    }
}
