import Testing
import TernTasks

@Suite struct WorkerRankingTests {
    @Test func profilesRankByGOPSDiscountedByLoadAndANewcomerCountsAsTheSlowest() {
        let ranked = WorkerRanking.candidates([
            .init(id: "a", ternaryGOPS: 100, loadPercent: 50),
            .init(id: "b", ternaryGOPS: 80),
            .init(id: "c", ternaryGOPS: 0),
        ])
        #expect(ranked == [.init(id: "a", tokensPerSecond: 50), .init(id: "b", tokensPerSecond: 80), .init(id: "c", tokensPerSecond: 50)])
    }

    @Test func receiptsWinOnlyWhenEveryPeerHasThem() {
        let both = WorkerRanking.candidates([
            .init(id: "a", ternaryGOPS: 100, receiptTokensPerSecond: 300),
            .init(id: "b", ternaryGOPS: 10, receiptTokensPerSecond: 900),
        ])
        #expect(both.map(\.tokensPerSecond) == [300, 900])
        let one = WorkerRanking.candidates([
            .init(id: "a", ternaryGOPS: 100, receiptTokensPerSecond: 300),
            .init(id: "b", ternaryGOPS: 10),
        ])
        #expect(one.map(\.tokensPerSecond) == [100, 10], "one unit for everybody")
    }

    @Test func aPeerThatLiedOrLacksMemoryIsLeftOut() {
        let ranked = WorkerRanking.candidates([
            .init(id: "liar", ternaryGOPS: 500, revokedJobs: 1),
            .init(id: "small", ternaryGOPS: 100, ramAvailableBytes: 100),
            .init(id: "ok", ternaryGOPS: 100, ramAvailableBytes: 1_000),
            .init(id: "unknown", ternaryGOPS: 100),
        ], memoryNeeded: 500)
        #expect(ranked.map(\.id) == ["ok", "unknown"])
    }
}
