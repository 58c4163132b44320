import Foundation
import Testing
import TernTasks

/// The dispatcher's scheduler, driven by hand-made events on a virtual clock.
@Suite struct FineTuneSchedulerTests {
    let fast = WorkerCandidate(id: "fast", tokensPerSecond: 300)
    let slow = WorkerCandidate(id: "slow", tokensPerSecond: 100)
    let spare = WorkerCandidate(id: "spare", tokensPerSecond: 50)

    func plan(rounds: Int = 2, verifyRate: Double = 0) -> FineTunePlan {
        FineTunePlan(rounds: rounds, innerSteps: 20, workersPerRound: 2, examplesPerStep: 4, tokensPerStep: 512,
                     datasetExamples: 1000, deadlineSlack: 2, deadlineFloorMillis: 1000, verifyRate: verifyRate, seed: 1)
    }

    struct Assignment: Equatable {
        var shard: Int, worker: String, steps: Int, factor: String?, deadline: UInt64, first: Int
    }

    func assignments(_ directives: [FineTuneScheduler.Directive]) -> [Assignment] {
        directives.compactMap {
            if case let .assign(_, shard, worker, first, _, steps, factor, deadline) = $0 {
                return Assignment(shard: shard, worker: worker, steps: steps, factor: factor, deadline: deadline, first: first)
            }
            return nil
        }
    }

    /// Every shard's worker returns a result that passes its check; the directives of the
    /// last check (the round's close).
    func completeRound(_ scheduler: inout FineTuneScheduler, now: UInt64) -> [FineTuneScheduler.Directive] {
        var last: [FineTuneScheduler.Directive] = []
        for shard in scheduler.shards {
            _ = scheduler.handle(.resultArrived(round: scheduler.round, shard: shard.index, worker: shard.worker!, tokens: 1), nowMillis: now)
            last = scheduler.handle(.verified(round: scheduler.round, shard: shard.index, worker: shard.worker!, matches: true), nowMillis: now)
        }
        return last
    }

    @Test func stepsFollowSpeedAndFactorsAlternateStartingWithB() {
        var scheduler = FineTuneScheduler(plan: plan(), workers: [slow, fast])
        let first = assignments(scheduler.start(nowMillis: 0))
        #expect(first.map(\.worker) == ["fast", "slow"])
        #expect(first.map(\.steps) == [30, 10], "40 steps split 3:1 by speed")
        #expect(first.map(\.factor) == ["B", "B"])
        #expect(first.map(\.first) == [0, 120], "contiguous example ranges")
        // Both shards are expected to take 30·512/300 = 51.2 s; deadline = 1 s + 2 × that.
        #expect(first.map(\.deadline) == [103_400, 103_400])

        #expect(completeRound(&scheduler, now: 10) == [.closeRound(round: 0, results: [
            .init(shard: 0, worker: "fast", tokens: 1), .init(shard: 1, worker: "slow", tokens: 1)])])
        #expect(scheduler.awaitingOuterStep)
        let second = assignments(scheduler.handle(.roundApplied, nowMillis: 30))
        #expect(second.map(\.factor) == ["A", "A"] && scheduler.round == 1)
        #expect(second.map(\.first) == [160, 280], "the next round takes the next examples")
    }

    @Test func aDeadWorkersShardGoesElsewhereAndItsLateResultIsDiscarded() {
        var scheduler = FineTuneScheduler(plan: plan(), workers: [fast, slow, spare])
        _ = scheduler.start(nowMillis: 0)
        let moved = assignments(scheduler.handle(.workerDied("slow"), nowMillis: 5))
        #expect(moved.map(\.worker) == ["spare"] && moved.map(\.shard) == [1])
        #expect(scheduler.handle(.resultArrived(round: 0, shard: 1, worker: "slow", tokens: 9), nowMillis: 6)
                == [.discard(round: 0, shard: 1, worker: "slow", reason: "not the shard's current assignment")])
    }

    @Test func aMissedDeadlineReassignsAndTheRoundClosesOnQuorum() {
        var plan = plan()
        plan.maxAttempts = 1
        var scheduler = FineTuneScheduler(plan: plan, workers: [fast, slow])
        let first = assignments(scheduler.start(nowMillis: 0))
        _ = scheduler.handle(.resultArrived(round: 0, shard: 0, worker: "fast", tokens: 100), nowMillis: 10)
        _ = scheduler.handle(.verified(round: 0, shard: 0, worker: "fast", matches: true), nowMillis: 10)
        #expect(scheduler.nextDeadlineMillis == first[1].deadline)
        // The slow worker never answers: with one attempt per shard its shard is dropped and
        // one result of two meets the 50 % quorum.
        let closing = scheduler.handle(.tick, nowMillis: first[1].deadline)
        #expect(closing == [.closeRound(round: 0, results: [.init(shard: 0, worker: "fast", tokens: 100)])])
    }

    @Test func aResultThatFailsItsCheckBansTheWorkerAndNeverCounts() {
        var scheduler = FineTuneScheduler(plan: plan(), workers: [fast, slow, spare])
        _ = scheduler.start(nowMillis: 0)
        #expect(scheduler.handle(.resultArrived(round: 0, shard: 1, worker: "slow", tokens: 50), nowMillis: 5)
                == [.verify(round: 0, shard: 1, worker: "slow")], "a worker's first result is always checked")
        let verdict = scheduler.handle(.verified(round: 0, shard: 1, worker: "slow", matches: false), nowMillis: 6)
        #expect(verdict.first == .ban(worker: "slow"))
        #expect(assignments(verdict).map(\.worker) == ["spare"])
        _ = scheduler.handle(.resultArrived(round: 0, shard: 0, worker: "fast", tokens: 100), nowMillis: 7)
        _ = scheduler.handle(.verified(round: 0, shard: 0, worker: "fast", matches: true), nowMillis: 7)
        _ = scheduler.handle(.resultArrived(round: 0, shard: 1, worker: "spare", tokens: 40), nowMillis: 8)
        let closing = scheduler.handle(.verified(round: 0, shard: 1, worker: "spare", matches: true), nowMillis: 9)
        #expect(closing == [.closeRound(round: 0, results: [.init(shard: 0, worker: "fast", tokens: 100),
                                                             .init(shard: 1, worker: "spare", tokens: 40)])])
        #expect(scheduler.handle(.workerAvailable(slow), nowMillis: 10).isEmpty)
        _ = scheduler.handle(.roundApplied, nowMillis: 11)
        #expect(!assignments(scheduler.handle(.tick, nowMillis: 12)).contains { $0.worker == "slow" })
        #expect(!scheduler.shards.contains { $0.worker == "slow" }, "a banned worker gets no more shards")
    }

    @Test func aResultThatContradictsItsOwnReceiptBansTheWorkerAtOnce() {
        var scheduler = FineTuneScheduler(plan: plan(), workers: [fast, slow, spare])
        _ = scheduler.start(nowMillis: 0)
        let refused = scheduler.handle(.resultRefused(round: 0, shard: 1, worker: "slow"), nowMillis: 5)
        #expect(refused.first == .ban(worker: "slow"))
        #expect(assignments(refused).map(\.worker) == ["spare"], "its shard runs elsewhere")
        #expect(scheduler.handle(.resultRefused(round: 0, shard: 1, worker: "slow"), nowMillis: 6).isEmpty,
                "a second report about a worker no longer on the shard changes nothing")
    }

    @Test func aWorkerWhoseShareIsUnderHalfAStepSitsTheRoundOut() {
        // 40 steps split 3000 : 10 would give the crawler 0.13 of a step; a whole step would
        // take it as long as 300 steps take the sprinter, and the round would wait for it.
        let crawler = WorkerCandidate(id: "crawler", tokensPerSecond: 10)
        let sprinter = WorkerCandidate(id: "sprinter", tokensPerSecond: 3000)
        var scheduler = FineTuneScheduler(plan: plan(), workers: [crawler, sprinter])
        let first = assignments(scheduler.start(nowMillis: 0))
        #expect(first.map(\.worker) == ["sprinter"] && first.map(\.steps) == [40], "the round's work is not lost")
    }

    @Test func theStateSurvivesARestartThroughItsCodableForm() throws {
        var scheduler = FineTuneScheduler(plan: plan(verifyRate: 0.5), workers: [fast, slow])
        _ = scheduler.start(nowMillis: 0)
        _ = scheduler.handle(.resultArrived(round: 0, shard: 0, worker: "fast", tokens: 10), nowMillis: 1)
        let stored = try JSONEncoder().encode(scheduler)
        var resumed = try JSONDecoder().decode(FineTuneScheduler.self, from: stored)
        #expect(resumed == scheduler)
        #expect(resumed.handle(.verified(round: 0, shard: 0, worker: "fast", matches: true), nowMillis: 2)
                == scheduler.handle(.verified(round: 0, shard: 0, worker: "fast", matches: true), nowMillis: 2))
    }

    @Test func runsEveryRoundThenFinishes() {
        var scheduler = FineTuneScheduler(plan: plan(rounds: 3), workers: [fast])
        _ = scheduler.start(nowMillis: 0)
        var closed = 0
        for round in 0..<3 {
            let shard = scheduler.shards[0]
            // Only the worker's first result is checked (the plan samples none after that).
            var out = scheduler.handle(.resultArrived(round: round, shard: 0, worker: shard.worker!, tokens: 5), nowMillis: 1)
            #expect((out == [.verify(round: round, shard: 0, worker: "fast")]) == (round == 0))
            out += scheduler.handle(.verified(round: round, shard: 0, worker: shard.worker!, matches: true), nowMillis: 1)
            if case .closeRound? = out.last { closed += 1 }
            let next = scheduler.handle(.roundApplied, nowMillis: 2)
            if round == 2 { #expect(next == [.finished] && scheduler.finished) }
        }
        #expect(closed == 3)
    }

    @Test func noWorkerMeansAClearFailure() {
        var scheduler = FineTuneScheduler(plan: plan(), workers: [])
        #expect(scheduler.start(nowMillis: 0) == [.failed(reason: "no worker is available for round 0")])
    }
}

/// A dispatcher that restarts mid-round runs that round's shards again.
@Suite struct FineTuneSchedulerRestartTests {
    @Test func aRestartedRoundReassignsEveryShardWithTheSameExamples() throws {
        let plan = FineTunePlan(rounds: 2, innerSteps: 4, workersPerRound: 2, examplesPerStep: 1, tokensPerStep: 16,
                                datasetExamples: 100, verifyRate: 0)
        var scheduler = FineTuneScheduler(plan: plan, workers: [.init(id: "a", tokensPerSecond: 1), .init(id: "b", tokensPerSecond: 1)])
        let before = scheduler.start(nowMillis: 0)
        _ = scheduler.handle(.resultArrived(round: 0, shard: 0, worker: "a", tokens: 4), nowMillis: 1)
        var resumed = try JSONDecoder().decode(FineTuneScheduler.self, from: JSONEncoder().encode(scheduler))
        let again = resumed.restartRound(nowMillis: 100)
        func ranges(_ directives: [FineTuneScheduler.Directive]) -> [[Int]] {
            directives.compactMap { if case let .assign(_, shard, _, first, examples, _, _, _) = $0 { [shard, first, examples] } else { nil } }
        }
        #expect(ranges(again) == ranges(before))
        #expect(resumed.shards.allSatisfy { $0.state == .running })
    }
}
