import Testing
import TernTasks

/// Where a node forwards a completion: the fastest decoder first (bandwidth, discounted by
/// load), peers that failed lately last, liars never, ties in a stable order.
@Suite struct ServingRouteRankingTests {
    typealias Holder = ServingRouteRanking.Holder

    @Test func bandwidthDiscountedByLoadRanks() {
        let holders = [
            Holder(id: "a", memoryGBPerSecond: 40, ternaryGOPS: 900),
            Holder(id: "b", memoryGBPerSecond: 80, ternaryGOPS: 100, loadPercent: 25),
            Holder(id: "c", memoryGBPerSecond: 80, ternaryGOPS: 100, loadPercent: 75),
        ]
        // b: 60, a: 40, c: 20 — GOPS do not count while every holder has a bandwidth.
        #expect(ServingRouteRanking.order(holders) == ["b", "a", "c"])
    }

    @Test func withoutEveryBandwidthGOPSRank() {
        let holders = [Holder(id: "a", memoryGBPerSecond: 0, ternaryGOPS: 300), Holder(id: "b", memoryGBPerSecond: 50, ternaryGOPS: 200)]
        #expect(ServingRouteRanking.order(holders) == ["a", "b"])
    }

    @Test func recentFailuresGoLastAndRevokedPeersNeverServe() {
        let holders = [
            Holder(id: "fast-but-failed", memoryGBPerSecond: 90, ternaryGOPS: 1, recentFailures: 1),
            Holder(id: "liar", memoryGBPerSecond: 99, ternaryGOPS: 1, revokedJobs: 1),
            Holder(id: "slow", memoryGBPerSecond: 10, ternaryGOPS: 1),
        ]
        #expect(ServingRouteRanking.order(holders) == ["slow", "fast-but-failed"])
    }

    @Test func tiesAndMissingFiguresKeepAStableOrder() {
        let holders = [Holder(id: "z", memoryGBPerSecond: 0, ternaryGOPS: 0), Holder(id: "m", memoryGBPerSecond: 0, ternaryGOPS: 0),
                       Holder(id: "k", memoryGBPerSecond: .nan, ternaryGOPS: 5)]
        #expect(ServingRouteRanking.order(holders) == ["k", "m", "z"])
        #expect(ServingRouteRanking.order(holders.reversed()) == ["k", "m", "z"])
        #expect(ServingRouteRanking.order([]) == [])
    }
}
