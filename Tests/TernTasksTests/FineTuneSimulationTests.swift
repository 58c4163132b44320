import Testing
import TernTasks

/// The real scheduler at scale, on the simulator's virtual clock.
@Suite struct FineTuneSimulationTests {
    func configuration(workers: Int = 30, rounds: Int = 6) -> FineTuneSimulation.Configuration {
        FineTuneSimulation.Configuration(workers: workers, rounds: rounds, innerSteps: 20, verifyRate: 0.1, seed: 7)
    }

    @Test func theSameSeedGivesTheSameReport() {
        var config = configuration()
        config.churnPerSecond = 0.002
        config.dishonestFraction = 0.1
        let report = FineTuneSimulation.run(config)
        #expect(FineTuneSimulation.run(config) == report)
        config.seed += 1
        #expect(FineTuneSimulation.run(config) != report)
    }

    @Test func withoutChurnOrLiarsEveryRoundCountsEveryWorkersShard() {
        let report = FineTuneSimulation.run(configuration())
        #expect(report.finished && report.failure == nil)
        #expect(report.round_results == Array(repeating: 30, count: 6))
        #expect(report.failure_lost_worker_seconds == 0)
        #expect(report.reassignments == 0 && report.shards_dropped == 0 && report.rounds_rerun == 0)
        #expect(report.workers_banned == 0 && report.results_rejected == 0)
        #expect(report.utilization > 0 && report.utilization <= 1)
    }

    @Test func crashedWorkersShardsAreReassignedAndTheTaskStillFinishes() {
        var config = configuration()
        config.churnPerSecond = 0.002
        config.downtimeSeconds = 60
        let report = FineTuneSimulation.run(config)
        #expect(report.finished, "\(report.failure ?? "")")
        #expect(report.rounds_completed == config.plan.rounds)
        #expect(report.crashes > 0 && report.reassignments > 0)
        #expect(report.failure_lost_worker_seconds > 0)
    }

    @Test func everyLiarIsBannedAndNoLieCountsWhenEveryResultIsChecked() {
        var config = configuration()
        config.plan.verifyRate = 1
        config.dishonestFraction = 0.2
        let report = FineTuneSimulation.run(config)
        #expect(report.finished && report.rounds_completed == config.plan.rounds)
        #expect(report.dishonest_workers == 6)
        #expect(report.dishonest_banned == 6 && report.workers_banned == 6)
        #expect(report.bad_results_accepted == 0)
        #expect(report.rejected_worker_seconds > 0)
    }

    @Test func sampledChecksLetSomeLiesThrough() {
        var config = configuration()
        config.plan.verifyRate = 0
        config.dishonestFraction = 0.2
        let report = FineTuneSimulation.run(config)
        #expect(report.workers_banned == 0, "with honest first results and no sampling, nobody is caught")
        #expect(report.bad_results_accepted == 6 * (config.plan.rounds - 1))
    }

    /// Shards follow speed, so a wide spread costs little: what is left comes from rounding
    /// a slow worker's share to whole steps and from jitter.
    @Test func aWideSpeedSpreadStragglesMoreThanUniformSpeedsButModestly() {
        var uniform = configuration()
        uniform.megabytesPerSecond = 50...50
        uniform.tokensPerSecond = 1_000...1_000
        var wide = uniform
        wide.tokensPerSecond = 100...10_000
        let even = FineTuneSimulation.run(uniform), spread = FineTuneSimulation.run(wide)
        #expect(spread.straggler_seconds > even.straggler_seconds)
        let roundTime = spread.round_seconds.reduce(0, +)
        #expect(spread.straggler_seconds < 0.5 * roundTime)
    }
}
