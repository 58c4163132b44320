extension FineTuneWorld {
    /// Sums the run up; the clock stopped at the last event.
    func report() -> FineTuneSimulationReport {
        var busy: UInt64 = 0, lost: UInt64 = 0, rejected: UInt64 = 0
        for attempt in attempts {
            let millis = attempt.busyMillis(until: now)
            busy += millis
            guard !attempt.counted else { continue }
            if workers[attempt.worker].banned { rejected += millis } else { lost += millis }
        }
        let available = workers.reduce(UInt64(0)) { sum, worker in
            sum + worker.availableMillis + (worker.availableSinceMillis.map { now - $0 } ?? 0)
        }
        let finished: Bool, failure: String?
        switch outcome {
        case .finished: (finished, failure) = (true, nil)
        case let .failed(reason): (finished, failure) = (false, reason)
        case nil: (finished, failure) = (false, "the simulation ran out of events")
        }
        let rounds = tally.roundSeconds
        return FineTuneSimulationReport(
            workers: config.workers, workers_per_round: config.plan.workersPerRound, rounds_planned: config.plan.rounds,
            churn: config.churnPerSecond, dishonest_fraction: config.dishonestFraction, verify_rate: config.plan.verifyRate,
            seed: config.seed,
            finished: finished, failure: failure, rounds_completed: rounds.count, virtual_seconds: Double(now) / 1_000,
            round_seconds: rounds, mean_round_seconds: rounds.isEmpty ? 0 : rounds.reduce(0, +) / Double(rounds.count),
            round_results: tally.roundResults,
            straggler_seconds: Double(tally.stragglerMillis) / 1_000,
            verification_wait_seconds: Double(tally.verificationWaitMillis) / 1_000,
            failure_lost_worker_seconds: Double(lost) / 1_000, rejected_worker_seconds: Double(rejected) / 1_000,
            reassignments: tally.reassignments, shards_dropped: tally.shardsDropped, rounds_rerun: tally.roundsRerun,
            crashes: tally.crashes,
            results_verified: tally.verified, results_rejected: tally.rejected,
            workers_banned: workers.filter(\.banned).count, dishonest_workers: workers.filter(\.dishonest).count,
            dishonest_banned: workers.filter { $0.dishonest && $0.banned }.count, bad_results_accepted: tally.badAccepted,
            utilization: available > 0 ? Double(busy) / Double(available) : 0,
            busy_worker_seconds: Double(busy) / 1_000, available_worker_seconds: Double(available) / 1_000)
    }
}
