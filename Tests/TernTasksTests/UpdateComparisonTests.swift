import Testing
import TernTasks

@Suite struct UpdateComparisonTests {
    let start: [Float] = [1, 2, 3, 4]

    @Test func measuresTheLargestDifferenceAgainstTheLargestUpdate() {
        let again: [Float] = [1.5, 2, 3, 3]          // updates 0.5 and −1
        #expect(UpdateComparison.relativeDifference(start: start, worker: again, recomputed: again) == 0)
        let off: [Float] = [1.5, 2.25, 3, 3]         // one parameter off by 0.25
        #expect(UpdateComparison.relativeDifference(start: start, worker: off, recomputed: again) == 0.25)
    }

    @Test func anythingMalformedIsInfinitelyFar() {
        #expect(UpdateComparison.relativeDifference(start: start, worker: [1, 2, 3], recomputed: start) == .infinity)
        #expect(UpdateComparison.relativeDifference(start: start, worker: [.nan, 2, 3, 4], recomputed: start) == .infinity)
        #expect(UpdateComparison.relativeDifference(start: start, worker: [1, 2, 3, 5], recomputed: start) == .infinity,
                "a worker that moved what should not have moved at all")
    }
}
