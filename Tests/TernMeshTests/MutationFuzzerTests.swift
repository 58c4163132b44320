import Testing
import TernMesh

@Suite struct MutationFuzzerTests {
    static let samples: [[UInt8]] = [Array(0..<40), Array(repeating: 0xAA, count: 7), []]

    @Test func theSameSeedGivesTheSameInputs() {
        var a = MutationFuzzer(samples: Self.samples, seed: 42)
        var b = MutationFuzzer(samples: Self.samples, seed: 42)
        var c = MutationFuzzer(samples: Self.samples, seed: 43)
        let fromA = (0..<500).map { _ in a.nextInput() }
        #expect(fromA == (0..<500).map { _ in b.nextInput() })
        #expect(fromA != (0..<500).map { _ in c.nextInput() })
    }

    @Test func inputsMixMutationsSamplesAndRandomBytes() {
        var fuzzer = MutationFuzzer(samples: Self.samples, seed: 1)
        var unchanged = 0, changed = 0
        for _ in 0..<10_000 {
            let input = fuzzer.nextInput()
            #expect(input.count <= fuzzer.maxInputBytes)
            if Self.samples.contains(input) { unchanged += 1 } else { changed += 1 }
        }
        // 1 in 16 inputs is a sample as is; a few mutations happen to give a sample back.
        #expect((500...1_000).contains(unchanged))
        #expect(changed > 9_000)
    }

    @Test(arguments: MutationFuzzer.Mutation.allCases)
    func everyMutationChangesInputs(_ mutation: MutationFuzzer.Mutation) {
        var fuzzer = MutationFuzzer(samples: Self.samples, seed: 7)
        var changed = 0
        for _ in 0..<100 {
            var input = Self.samples[0]
            fuzzer.apply(mutation, to: &input)
            if input != Self.samples[0] { changed += 1 }
        }
        #expect(changed >= 50)
    }

    @Test func mutationsOfAnEmptyInputGiveBytes() {
        var fuzzer = MutationFuzzer(samples: [], seed: 3)
        for mutation in MutationFuzzer.Mutation.allCases where mutation != .splice {
            var input: [UInt8] = []
            fuzzer.apply(mutation, to: &input)
            #expect(!input.isEmpty)
        }
        #expect(fuzzer.nextInput().count <= fuzzer.maxInputBytes)
    }

    /// A target that accepts even lengths, rejects odd ones and calls 3-byte inputs broken.
    struct ParityTarget: FuzzTarget {
        let name = "parity"
        let samples: [[UInt8]] = [[1, 2], [1, 2, 3, 4, 5]]
        mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
            if input.count == 3 { return .violation("three bytes") }
            return input.count % 2 == 0 ? .accepted("even") : .rejected("odd")
        }
    }

    @Test func aCampaignCountsEveryVerdictAndKeepsBrokenInputs() {
        var target = ParityTarget()
        var progressCalls = 0
        let report = FuzzCampaign.run(&target, iterations: 5_000, seed: 11) { _ in progressCalls += 1 }
        #expect(report.accepted + report.rejected + report.violations == 5_000)
        #expect(report.outcomes["accepted.even"] == report.accepted)
        #expect(report.outcomes["rejected.odd"] == report.rejected)
        #expect(report.violations > 0)
        #expect(report.firstViolations.count == min(report.violations, FuzzReport.keptViolations))
        #expect(report.firstViolations.allSatisfy { $0.inputHex.count == 6 && $0.reason == "three bytes" })
        #expect(progressCalls == 5_000 / FuzzCampaign.progressInterval)
        #expect(report.inputsPerSecond > 0)
    }
}
