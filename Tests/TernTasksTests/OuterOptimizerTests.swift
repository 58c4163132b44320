import Testing
import TernTasks

/// The outer step and the token-weighted mean, and why one frozen factor makes averaging exact.
@Suite struct OuterOptimizerTests {
    @Test func plainAveragingMovesToTheMeanOfTheWorkers() throws {
        let start: [Float] = [1, 2, 3]
        let workerA: [Float] = [2, 2, 3], workerB: [Float] = [1, 4, 3]
        let mean = try #require(PseudoGradient.weightedMean([
            .init(change: PseudoGradient.change(from: start, to: workerA)!, tokens: 100),
            .init(change: PseudoGradient.change(from: start, to: workerB)!, tokens: 300),
        ]))
        #expect(mean == [0.25, 1.5, 0])
        var parameters = start
        var optimizer = OuterOptimizer.averaging(parameterCount: 3)
        optimizer.step(&parameters, meanChange: mean)
        #expect(parameters == [1.25, 3.5, 3])
    }

    @Test func nesterovMatchesTheFormulaAndKeepsFrozenEntriesExact() {
        var parameters: [Float] = [0, 0, 5]
        var optimizer = OuterOptimizer(learningRate: 0.7, momentum: 0.9, parameterCount: 3)
        optimizer.step(&parameters, meanChange: [1, -2, 9], trained: [0..<2])
        // g = −Δ; m = g; θ −= 0.7·(g + 0.9·m) = 0.7·1.9·Δ
        #expect(abs(parameters[0] - 1.33) < 1e-6 && abs(parameters[1] + 2.66) < 1e-6)
        #expect(parameters[2] == 5 && optimizer.velocity[2] == 0, "the frozen factor does not move")
        optimizer.step(&parameters, meanChange: [1, -2, 9], trained: [0..<2])
        // m = 0.9·(−1) + (−1) = −1.9; step = −0.7·(−1 + 0.9·−1.9) = 1.897
        #expect(abs(parameters[0] - (1.33 + 1.897)) < 1e-5)
    }

    @Test func withOneFactorFrozenTheMeanUpdateOfBAIsExact() {
        // ΔW = B·A, here 2×1 · 1×2. Two workers change only B.
        let a: [Float] = [0.5, -1]
        let b0: [Float] = [1, 2]
        let bWorkers: [[Float]] = [[1.5, 2], [1, 3]]
        func product(_ b: [Float], _ a: [Float]) -> [Float] { b.flatMap { bi in a.map { bi * $0 } } }
        let meanOfProducts = (0..<4).map { i in bWorkers.map { product($0, a)[i] }.reduce(0, +) / 2 }
        let meanB = PseudoGradient.weightedMean(bWorkers.map { .init(change: PseudoGradient.change(from: b0, to: $0)!, tokens: 1) })!
        let averaged = product(zip(b0, meanB).map { $0 + $1 }, a)
        #expect(averaged == meanOfProducts)
        // Both factors changed and averaged apart: not the mean of the products.
        let aWorkers: [[Float]] = [[1, -1], [0.5, 0]]
        let meanOfBoth = (0..<4).map { i in (0..<2).map { product(bWorkers[$0], aWorkers[$0])[i] }.reduce(0, +) / 2 }
        let meanA = (0..<2).map { i in aWorkers.map { $0[i] }.reduce(0, +) / 2 }
        let meanBAbs = (0..<2).map { i in bWorkers.map { $0[i] }.reduce(0, +) / 2 }
        #expect(product(meanBAbs, meanA) != meanOfBoth)
    }

    @Test func mismatchedOrEmptyContributionsGiveNoMean() {
        #expect(PseudoGradient.weightedMean([]) == nil)
        #expect(PseudoGradient.weightedMean([.init(change: [1], tokens: 0)]) == nil)
        #expect(PseudoGradient.weightedMean([.init(change: [1], tokens: 1), .init(change: [1, 2], tokens: 1)]) == nil)
    }
}
