import Foundation
import TernSupport

/// The mutable world of one fine-tune simulation: the scheduler under test, the modelled
/// workers and verifiers, the virtual clock, and what the report counts.
struct FineTuneWorld {
    enum Event {
        case tick
        case resultReady(attempt: Int)
        /// The shell could not start a shard on the worker (it is down).
        case shardRefused(round: Int, shard: Int, worker: String)
        case crash(worker: Int)
        case deathNoticed(worker: Int)
        case restart(worker: Int)
        case checked(round: Int, shard: Int, worker: String, matches: Bool)
        case outerStepApplied
    }

    enum Outcome {
        case finished
        case failed(String)
    }

    /// Counts the report sums up as the run goes.
    struct Tally {
        var roundSeconds: [Double] = []
        var roundResults: [Int] = []
        var stragglerMillis: UInt64 = 0
        var verificationWaitMillis: UInt64 = 0
        var reassignments = 0
        var shardsDropped = 0
        var roundsRerun = 0
        var crashes = 0
        var verified = 0
        var rejected = 0
        var badAccepted = 0
    }

    let config: FineTuneSimulation.Configuration
    var scheduler: FineTuneScheduler
    var workers: [SimulatedWorker] = []
    var indexOf: [String: Int] = [:]
    var attempts: [ShardAttempt] = []
    /// The attempt whose result the scheduler took, by shard, in the round in progress.
    var accepted: [Int: Int] = [:]
    /// When each verifier is done with the re-executions queued on it.
    var verifierFreeAtMillis: [UInt64]
    var heap = EventHeap<Event>()
    var random: SplitMix64
    var now: UInt64 = 0
    var roundStartedAtMillis: UInt64 = 0
    var outcome: Outcome?
    var tally = Tally()

    init(_ config: FineTuneSimulation.Configuration) {
        self.config = config
        random = SplitMix64(seed: config.seed)
        verifierFreeAtMillis = Array(repeating: 0, count: max(1, config.verifiers))
        let width = String(max(config.workers - 1, 0)).count
        var profiles: [(candidate: WorkerCandidate, megabytesPerSecond: Double)] = []
        for index in 0..<config.workers {
            let number = String(index)
            let id = "w" + String(repeating: "0", count: width - number.count) + number
            let speed = random.logUniform(config.tokensPerSecond)
            profiles.append((WorkerCandidate(id: id, tokensPerSecond: speed), random.logUniform(config.megabytesPerSecond)))
        }
        // Drawn after the profiles, so that the same seed gives the same workers whatever the
        // share of liars.
        let liars = Set(random.pick(Int((config.dishonestFraction * Double(config.workers)).rounded()), of: config.workers))
        for (index, profile) in profiles.enumerated() {
            workers.append(SimulatedWorker(candidate: profile.candidate, megabytesPerSecond: profile.megabytesPerSecond,
                                           dishonest: liars.contains(index)))
            indexOf[profile.candidate.id] = index
        }
        scheduler = FineTuneScheduler(plan: config.plan, workers: profiles.map(\.candidate))
    }

    mutating func run() -> FineTuneSimulationReport {
        for index in workers.indices { scheduleCrash(index) }
        heap.push(.tick, at: 1_000)
        carryOut(scheduler.start(nowMillis: 0), planning: true)
        let limit = UInt64(config.maxVirtualSeconds) * 1_000
        while outcome == nil, let (at, event) = heap.pop() {
            guard at <= limit else {
                now = limit
                outcome = .failed("not finished after \(config.maxVirtualSeconds) virtual seconds")
                break
            }
            now = at
            handle(event)
        }
        return report()
    }

    // MARK: Events

    mutating func handle(_ event: Event) {
        switch event {
        case .tick:
            // Like the dispatcher's ticker: once a second, so deadlines are seen within 1 s.
            heap.push(.tick, at: now + 1_000)
            carryOut(scheduler.handle(.tick, nowMillis: now))
        case let .resultReady(attempt):
            returnResult(attempt)
        case let .shardRefused(round, shard, worker):
            carryOut(scheduler.handle(.shardFailed(round: round, shard: shard, worker: worker), nowMillis: now))
        case let .crash(worker):
            crash(worker)
        case let .deathNoticed(worker):
            carryOut(scheduler.handle(.workerDied(workers[worker].candidate.id), nowMillis: now))
        case let .restart(worker):
            workers[worker].up = true
            if !workers[worker].banned { workers[worker].availableSinceMillis = now }
            if config.readmitsRestartedWorkers {
                carryOut(scheduler.handle(.workerAvailable(workers[worker].candidate), nowMillis: now))
            }
            scheduleCrash(worker)
        case let .checked(round, shard, worker, matches):
            if !matches { tally.rejected += 1 }
            carryOut(scheduler.handle(.verified(round: round, shard: shard, worker: worker, matches: matches), nowMillis: now))
        case .outerStepApplied:
            tally.roundSeconds.append(Double(now - roundStartedAtMillis) / 1_000)
            roundStartedAtMillis = now
            accepted = [:]
            carryOut(scheduler.handle(.roundApplied, nowMillis: now), planning: true)
        }
    }

    /// A shard's result reaches the shell; a dishonest worker lies once it has returned its
    /// honest ones.
    mutating func returnResult(_ id: Int) {
        guard attempts[id].lostAtMillis == nil else { return }
        let worker = attempts[id].worker
        workers[worker].running.removeAll { $0 == id }
        attempts[id].lied = workers[worker].dishonest && workers[worker].returned >= config.honestResultsBeforeLying
        workers[worker].returned += 1
        let attempt = attempts[id]
        let directives = scheduler.handle(.resultArrived(round: attempt.round, shard: attempt.shard, worker: workers[worker].candidate.id,
                                                         tokens: attempt.steps * config.plan.tokensPerStep), nowMillis: now)
        if case .discard? = directives.first {} else { accepted[attempt.shard] = id }
        carryOut(directives)
    }

    /// The worker goes down with every shard it was running or had queued; membership
    /// notices after the detection delay, and it comes back after its downtime.
    mutating func crash(_ index: Int) {
        tally.crashes += 1
        workers[index].up = false
        workers[index].becomeUnavailable(at: now)
        for id in workers[index].running {
            attempts[id].lostAtMillis = now
            if let fetched = attempts[id].baseFetchedAtMillis, fetched > now { workers[index].hasBase = false }
        }
        workers[index].running = []
        workers[index].freeAtMillis = now
        heap.push(.deathNoticed(worker: index), at: now + UInt64(config.detectionSeconds) * 1_000)
        heap.push(.restart(worker: index), at: now + UInt64(max(config.downtimeSeconds, config.detectionSeconds)) * 1_000)
    }

    /// Draws the worker's next crash: each virtual second from now on, with probability
    /// `churnPerSecond` (a geometric wait, so quiet seconds cost nothing).
    mutating func scheduleCrash(_ index: Int) {
        guard config.churnPerSecond > 0 else { return }
        let survival = 1 - random.unit()
        let seconds = config.churnPerSecond >= 1 ? 1 : (log(survival) / log(1 - config.churnPerSecond)).rounded(.down) + 1
        heap.push(.crash(worker: index), at: now + millis(min(seconds, 1e12)))
    }

    // MARK: Units

    func millis(_ seconds: Double) -> UInt64 { UInt64(max(0, seconds * 1_000).rounded()) }
}
