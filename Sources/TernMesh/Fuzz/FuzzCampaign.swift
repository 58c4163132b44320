/// Runs a fuzz target: feeds it `iterations` inputs from a `MutationFuzzer` seeded with
/// `seed` and tallies the verdicts. The same loop serves `tern fuzz` and the test suite, so
/// what the tests cover is exactly what the command runs.
public enum FuzzCampaign {
    /// How often (in inputs) `progress` is called.
    public static let progressInterval = 1_024

    public static func run<Target: FuzzTarget>(
        _ target: inout Target, iterations: Int, seed: UInt64,
        progress: (_ inputsDone: Int) -> Void = { _ in }
    ) -> FuzzReport {
        var fuzzer = MutationFuzzer(samples: target.samples, seed: seed)
        var report = FuzzReport(target: target.name, seed: seed, iterations: iterations)
        let clock = ContinuousClock()
        let start = clock.now
        for iteration in 0..<iterations {
            let input = fuzzer.nextInput()
            report.record(target.consume(input), input: input, iteration: iteration)
            if (iteration + 1) % progressInterval == 0 { progress(iteration + 1) }
        }
        let elapsed = clock.now - start
        report.finish(seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return report
    }
}
