import ArgumentParser
import Foundation
import TernTasks

/// `tern sim finetune`: the real fine-tune scheduler over N modelled workers on virtual time.
struct SimFinetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Simulate a distributed fine-tune's scheduling over N modelled workers.",
        discussion: """
            Drives the real FineTuneScheduler (the one `tern finetune dispatch` runs) on a \
            deterministic virtual clock (same seed, same report), with modelled workers instead \
            of peers: each has a training speed and a link bandwidth drawn log-uniformly from the \
            given ranges. A shard takes its transfers (the round's adapter in, the result out, the \
            model and dataset before a worker's first shard) plus its steps at the worker's speed \
            (± --jitter). Workers run their shards one at a time, crash with --churn per second, \
            stay down --downtime seconds, and are reported dead --detection seconds after a crash; \
            a crashed worker's shards never return, and it is offered again when it is back \
            (unless --no-readmit). --dishonest workers return --honest-first \
            honest results, then results that fail re-execution. Checked results are re-executed \
            one at a time on each of --verifiers nodes (today: the dispatcher alone).

            The report: rounds completed and virtual time; each round's time from planning to \
            its outer step; straggler time (per round, the slowest counted shard minus the \
            fastest, summed); verification wait (per round, from the last counted result to the \
            round's close, summed); worker-seconds lost to failures (crashed shards, late results \
            of reassigned shards) and spent by banned workers; reassignments, dropped shards, \
            rounds rerun for lack of quorum; re-executions, rejections, bans, and lies that no \
            check caught; utilization (busy over available worker-seconds).
            """
    )

    @Option(help: "Workers in the pool.") var workers = 100
    @Option(help: "Workers per round (default: all of them).") var perRound: Int?
    @Option(help: "Outer rounds.") var rounds = 20
    @Option(help: "Inner steps per worker and round at average speed (a worker's share follows its speed).") var innerSteps = 20
    @Option(help: "Tokens one inner step trains on (batch × sequence length).") var tokensPerStep = 2_048
    @Option(help: "Slowest worker's training speed, tokens/s.") var minSpeed = 200.0
    @Option(help: "Fastest worker's training speed, tokens/s.") var maxSpeed = 5_000.0
    @Option(help: "Slowest worker link, MB/s.") var minBandwidth = 2.0
    @Option(help: "Fastest worker link, MB/s.") var maxBandwidth = 100.0
    @Option(name: .customLong("adapter-mb"), help: "Adapter size, MB: fetched and returned with every shard.") var adapterMB = 10.0
    @Option(name: .customLong("base-mb"), help: "Model + dataset size, MB: fetched before a worker's first shard.") var baseMB = 600.0
    @Option(help: "Probability per worker per virtual second of crashing (0…1).") var churn = 0.0
    @Option(help: "Seconds a crashed worker stays down before it comes back.") var downtime = 120
    @Option(help: "Seconds membership takes to report a crash.") var detection = 5
    @Flag(help: "Never tell the scheduler that a crashed worker is back (what the dispatcher does today).") var noReadmit = false
    @Option(help: "Share of workers whose results fail re-execution (0…1).") var dishonest = 0.0
    @Option(help: "Honest results a dishonest worker returns before it lies (0: caught by the first-result check).") var honestFirst = 1
    @Option(help: "Share of results re-executed after a worker's first (which always is).") var verifyRate = 0.1
    @Option(help: "Nodes re-executing results, one at a time each.") var verifiers = 1
    @Option(help: "A verifier's training speed, tokens/s.") var verifierSpeed = 5_000.0
    @Option(help: "Seconds to aggregate a round and apply its outer step.") var aggregation = 5.0
    @Option(help: "Seconds every shard's deadline allows on top of its compute (the dispatcher uses 600).") var deadlineFloor = 600
    @Option(help: "A deadline is the expected compute time × this, plus --deadline-floor.") var deadlineSlack = 3.0
    @Option(help: "Share of a round's shards that must be done for it to close.") var quorum = 0.5
    @Option(help: "Attempts per shard before it is dropped.") var maxAttempts = 3
    @Option(help: "A shard's compute time varies by up to ± this fraction.") var jitter = 0.05
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard workers >= 1, rounds >= 1, innerSteps >= 1, tokensPerStep >= 1 else {
            throw ValidationError("--workers, --rounds, --inner-steps and --tokens-per-step must be at least 1")
        }
        if let perRound, perRound < 1 { throw ValidationError("--per-round must be at least 1, got \(perRound)") }
        guard minSpeed > 0, minSpeed <= maxSpeed else { throw ValidationError("need 0 < --min-speed ≤ --max-speed") }
        guard minBandwidth > 0, minBandwidth <= maxBandwidth else { throw ValidationError("need 0 < --min-bandwidth ≤ --max-bandwidth") }
        for (name, value) in [("--churn", churn), ("--dishonest", dishonest), ("--verify-rate", verifyRate), ("--quorum", quorum),
                              ("--jitter", jitter)] where !(0...1).contains(value) {
            throw ValidationError("\(name) must be between 0 and 1, got \(value)")
        }
        guard adapterMB >= 0, baseMB >= 0, aggregation >= 0, downtime >= 0, detection >= 0, deadlineFloor >= 0, honestFirst >= 0 else {
            throw ValidationError("sizes, times and --honest-first cannot be negative")
        }
        guard verifiers >= 1, verifierSpeed > 0, deadlineSlack > 0, maxAttempts >= 1 else {
            throw ValidationError("--verifiers and --max-attempts must be at least 1, --verifier-speed and --deadline-slack positive")
        }
    }

    func run() throws {
        var configuration = FineTuneSimulation.Configuration(workers: workers, rounds: rounds, innerSteps: innerSteps,
                                                             verifyRate: verifyRate, seed: seed)
        configuration.plan.workersPerRound = perRound ?? workers
        configuration.plan.tokensPerStep = tokensPerStep
        configuration.plan.deadlineFloorMillis = UInt64(deadlineFloor) * 1_000
        configuration.plan.deadlineSlack = deadlineSlack
        configuration.plan.quorum = quorum
        configuration.plan.maxAttempts = maxAttempts
        configuration.tokensPerSecond = minSpeed...maxSpeed
        configuration.megabytesPerSecond = minBandwidth...maxBandwidth
        configuration.adapterMegabytes = adapterMB
        configuration.baseMegabytes = baseMB
        configuration.churnPerSecond = churn
        configuration.downtimeSeconds = downtime
        configuration.detectionSeconds = detection
        configuration.readmitsRestartedWorkers = !noReadmit
        configuration.dishonestFraction = dishonest
        configuration.honestResultsBeforeLying = honestFirst
        configuration.verifiers = verifiers
        configuration.verifierTokensPerSecond = verifierSpeed
        configuration.aggregationSeconds = aggregation
        configuration.jitter = jitter
        let started = Date()
        let report = FineTuneSimulation.run(configuration)
        let elapsed = Date().timeIntervalSince(started)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(Self.render(report, elapsed: elapsed))
    }

    static func render(_ report: FineTuneSimulationReport, elapsed: Double) -> String {
        func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }
        func workerSeconds(_ value: Double) -> String { String(format: "%.0f worker-s", value) }
        let outcome = report.finished ? "finished" : "failed: \(report.failure ?? "?")"
        var table = TablePrinter("MEASURE", "VALUE")
        table.add(["outcome", outcome])
        table.add(["rounds completed", "\(report.rounds_completed) of \(report.rounds_planned)"])
        table.add(["virtual time", seconds(report.virtual_seconds)])
        table.add(["mean round", seconds(report.mean_round_seconds)])
        table.add(["first round", report.round_seconds.first.map(seconds) ?? "-"])
        table.add(["straggler wait", seconds(report.straggler_seconds)])
        table.add(["verification wait", seconds(report.verification_wait_seconds)])
        table.add(["lost to failures", workerSeconds(report.failure_lost_worker_seconds)])
        table.add(["spent by banned workers", workerSeconds(report.rejected_worker_seconds)])
        table.add(["crashes", "\(report.crashes)"])
        table.add(["reassignments", "\(report.reassignments)"])
        table.add(["shards dropped", "\(report.shards_dropped)"])
        table.add(["rounds rerun (quorum)", "\(report.rounds_rerun)"])
        table.add(["results verified", "\(report.results_verified) (\(report.results_rejected) rejected)"])
        table.add(["workers banned", "\(report.workers_banned) (\(report.dishonest_banned) of \(report.dishonest_workers) dishonest)"])
        table.add(["lies accepted", "\(report.bad_results_accepted)"])
        table.add(["utilization", String(format: "%.1f %%", report.utilization * 100)])
        return """
            \(report.workers) workers (\(report.workers_per_round) per round), churn \(report.churn)/worker/s, \
            dishonest \(report.dishonest_fraction), verify rate \(report.verify_rate), seed \(report.seed) \
            (ran in \(String(format: "%.2f", elapsed)) s)
            \(table.render())
            """
    }
}
