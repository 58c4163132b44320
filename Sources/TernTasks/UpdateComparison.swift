/// How a re-executed shard is compared with a worker's result when the two ran different
/// kernel classes (different rounding: `KernelClass` in TernKernels), so bits cannot match.
///
/// The measure is the largest difference between the two updates (end − start of every
/// trained parameter) relative to the largest update: a cheat that moves even one parameter
/// by a sizeable fraction of a step shows, while rounding differences stay orders of
/// magnitude below the bound. `UpdateComparisonTests` and `CrossClassTrainingTests` measure
/// both sides; docs/finetuning.md records the figures.
public enum UpdateComparison {
    /// Default bound on the relative difference: 1e-3 (cross-class rounding measured at
    /// about 1e-6 on the test model; a one-parameter cheat of 1e-3 at about 1e-2).
    public static let defaultTolerance = 1e-3

    /// `max |Δworker − Δrecomputed| / max |Δrecomputed|` over the parameters; infinity when
    /// the shapes differ or a value is not finite, 0 when both updates are zero.
    public static func relativeDifference(start: [Float], worker: [Float], recomputed: [Float]) -> Double {
        guard start.count == worker.count, start.count == recomputed.count else { return .infinity }
        var largestUpdate = 0.0, largestDifference = 0.0
        for i in start.indices {
            let byWorker = Double(worker[i]) - Double(start[i]), again = Double(recomputed[i]) - Double(start[i])
            guard byWorker.isFinite, again.isFinite else { return .infinity }
            largestUpdate = max(largestUpdate, abs(again))
            largestDifference = max(largestDifference, abs(byWorker - again))
        }
        if largestDifference == 0 { return 0 }
        return largestUpdate > 0 ? largestDifference / largestUpdate : .infinity
    }
}
