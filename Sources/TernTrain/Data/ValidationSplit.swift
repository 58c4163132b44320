/// Chooses which examples are held out for validation: a seeded shuffle of the example
/// indices (Fisher–Yates over `RandomSource`, so the split is the same on every platform
/// and Swift version) whose first `round(fraction · count)` entries (at least one when the
/// fraction is positive, never all) form the validation set.
struct ValidationSplit: Equatable {
    /// Ascending example indices.
    let train: [Int]
    let validation: [Int]

    init(count: Int, fraction: Double, seed: UInt64, path: String) throws {
        guard fraction >= 0, fraction < 1 else { throw TrainingDataError.invalidValidationFraction(fraction) }
        guard fraction > 0 else {
            train = Array(0..<count)
            validation = []
            return
        }
        guard count >= 2 else { throw TrainingDataError.tooFewExamplesToSplit(path: path, examples: count) }
        let held = min(count - 1, max(1, Int((fraction * Double(count)).rounded())))
        var order = Array(0..<count)
        var random = RandomSource(seed: seed)
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(random.next() % UInt64(i + 1)))
        }
        validation = order[..<held].sorted()
        train = order[held...].sorted()
    }
}
