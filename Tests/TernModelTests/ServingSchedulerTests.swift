import Testing
import TernModel

/// The pure core of continuous batching, without a model: budgets, decode-first order,
/// admission and preemption, and the block count under random admission and cancellation.
@Suite struct ServingSchedulerTests {
    func scheduler(blocks: Int, context: Int = 256, batch: Int = 32, sequences: Int = 8) -> ServingScheduler {
        var c = ServingScheduler.Configuration(blockCount: blocks, maxPositions: context)
        c.blockTokens = 16
        c.maxBatchTokens = batch
        c.maxSequences = sequences
        return ServingScheduler(c)
    }

    func take(_ s: inout ServingScheduler) throws -> ServingBatch {
        let batch = s.nextBatch()
        return try #require(batch)
    }

    @Test func aLongPromptIsFedInChunksAndDecodersGoFirst() throws {
        var s = scheduler(blocks: 64)
        try s.submit(id: 1, prompt: Array(repeating: 5, count: 10))
        let first = try take(&s)
        #expect(first.entries.map(\.count) == [10] && first.entries[0].wantsLogits)
        s.append(7, to: 1)
        try s.submit(id: 2, prompt: Array(repeating: 6, count: 70))
        // 1 decodes (one row) and 2 gets the rest of the 32-row budget.
        let second = try take(&s)
        #expect(second.entries.map(\.id) == [1, 2] && second.entries.map(\.count) == [1, 31])
        #expect(second.entries[0].start == 10 && !second.entries[1].wantsLogits)
        s.append(8, to: 1)
        let third = try take(&s)
        #expect(third.entries.map(\.count) == [1, 31] && third.entries[1].start == 31)
        s.append(9, to: 1)
        let fourth = try take(&s)
        #expect(fourth.entries.map(\.count) == [1, 8] && fourth.entries[1].wantsLogits)
        #expect(s.usedBlocks == s.blocksHeld)
        s.finish(1)
        s.finish(2)
        #expect(s.usedBlocks == 0 && s.isIdle && s.nextBatch() == nil)
    }

    @Test func promptsThatCannotFitAreRefused() {
        var s = scheduler(blocks: 4, context: 1000)
        #expect(s.promptLimit == 63)
        #expect(throws: ServingScheduler.SubmitError.promptTooLong(tokens: 64, limit: 63)) {
            try s.submit(id: 1, prompt: Array(repeating: 1, count: 64))
        }
        #expect(throws: ServingScheduler.SubmitError.emptyPrompt) { try s.submit(id: 2, prompt: []) }
    }

    /// Two sequences outgrow a pool of 4 blocks: the younger gives its blocks back and is
    /// fed again from position 0 with every token it had, once the older one finishes.
    @Test func theYoungestIsPreemptedAndRecomputedWithItsTokens() throws {
        var s = scheduler(blocks: 4, batch: 64)
        try s.submit(id: 1, prompt: Array(repeating: 1, count: 20))
        try s.submit(id: 2, prompt: Array(repeating: 2, count: 20))
        var batch = try take(&s)
        #expect(batch.entries.map(\.id) == [1, 2])
        var appended: [UInt64: Int] = [1: 0, 2: 0]
        var preempted = false
        for _ in 0..<40 {
            for entry in batch.entries where entry.wantsLogits {
                s.append(Int32(entry.id) * 100, to: entry.id)
                appended[entry.id, default: 0] += 1
            }
            #expect(s.usedBlocks == s.blocksHeld && s.usedBlocks <= 4)
            guard let next = s.nextBatch() else { break }
            if next.entries.count == 1 && next.entries[0].id == 1 { preempted = true }
            batch = next
            if appended[1]! >= 30 { s.finish(1) }
        }
        #expect(preempted)
        let recomputed = try #require(s.tokens(of: 2))
        #expect(recomputed.count == 20 + appended[2]!)
        #expect(recomputed.prefix(20).allSatisfy { $0 == 2 } && recomputed.dropFirst(20).allSatisfy { $0 == 200 })
        s.finish(2)
        #expect(s.usedBlocks == 0)
    }

    /// Random arrivals, cancellations, finishes and tiny pools: every pass stays within its
    /// budget, sequences never share a block, a sequence's blocks cover what it feeds, and
    /// the pool's count always equals what the sequences hold — zero at the end.
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func noBlockLeaksUnderRandomAdmissionAndCancellation(seed: UInt64) throws {
        var random = RandomSource(seed: seed)
        var s = scheduler(blocks: 12 + Int(random.next() % 20), context: 160, batch: 24, sequences: 5)
        var nextID: UInt64 = 1
        var live: [UInt64] = []
        var passes = 0
        for _ in 0..<3000 {
            switch random.next() % 10 {
            case 0, 1:
                let length = 1 + Int(random.next() % 120)
                if (try? s.submit(id: nextID, prompt: Array(repeating: 3, count: length))) != nil { live.append(nextID) }
                nextID += 1
            case 2 where !live.isEmpty:
                s.finish(live.remove(at: Int(random.next() % UInt64(live.count))))
            default:
                guard let batch = s.nextBatch() else { continue }
                passes += 1
                #expect(batch.rows <= 24 && batch.entries.count <= 5)
                var seen = Set<Int32>()
                for entry in batch.entries {
                    #expect(entry.blocks.count * 16 >= entry.start + entry.count)
                    for block in entry.blocks { #expect(seen.insert(block).inserted) }
                    guard entry.wantsLogits else { continue }
                    s.append(4, to: entry.id)
                    if random.next() % 8 == 0 || !s.hasRoom(entry.id) {
                        s.finish(entry.id)
                        live.removeAll { $0 == entry.id }
                    }
                }
            }
            #expect(s.usedBlocks == s.blocksHeld)
        }
        for id in live { s.finish(id) }
        #expect(passes > 100)
        #expect(s.usedBlocks == 0 && s.isIdle)
    }
}
