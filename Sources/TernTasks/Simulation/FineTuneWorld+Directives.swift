/// The modelled shell: carries out the scheduler's directives the way `FineTuneDispatcher`
/// does, on virtual time.
extension FineTuneWorld {
    /// `planning`: the directives answer `start` or `roundApplied`, so fresh shards are a new
    /// round; anywhere else they are the round planned again for lack of quorum.
    mutating func carryOut(_ directives: [FineTuneScheduler.Directive], planning: Bool = false) {
        var rerun = false
        for directive in directives {
            switch directive {
            case let .assign(round, shard, worker, _, _, steps, _, _):
                if scheduler.shards[shard].attempts > 1 {
                    tally.reassignments += 1
                } else if !planning && !rerun {
                    rerun = true
                    tally.roundsRerun += 1
                    accepted = [:]
                }
                dispatch(round: round, shard: shard, worker: worker, steps: steps)
            case let .verify(round, shard, worker):
                reexecute(round: round, shard: shard, worker: worker)
            case .discard:
                break  // Its work never counts; the report shows it as lost.
            case let .ban(worker):
                guard let index = indexOf[worker] else { break }
                workers[index].banned = true
                workers[index].becomeUnavailable(at: now)
            case let .closeRound(_, results):
                close(results)
            case .finished:
                outcome = .finished
            case let .failed(reason):
                outcome = .failed(reason)
            }
        }
    }

    /// Queues the shard on its worker: fetch the inputs (the model and dataset too the first
    /// time), train, return the result. A worker that is down refuses it at once, as a dial
    /// would fail.
    mutating func dispatch(round: Int, shard: Int, worker id: String, steps: Int) {
        guard let index = indexOf[id], workers[index].up else {
            heap.push(.shardRefused(round: round, shard: shard, worker: id), at: now)
            return
        }
        var worker = workers[index]
        let start = max(now, worker.freeAtMillis)
        let fetch = (config.adapterMegabytes + (worker.hasBase ? 0 : config.baseMegabytes)) / worker.megabytesPerSecond
        let upload = config.adapterMegabytes / worker.megabytesPerSecond
        let compute = Double(steps * config.plan.tokensPerStep) / worker.candidate.tokensPerSecond
            * (1 + config.jitter * (2 * random.unit() - 1))
        let finish = start + millis(fetch + compute + upload)
        attempts.append(ShardAttempt(round: round, shard: shard, worker: index, steps: steps, assignedAtMillis: now,
                                     startedAtMillis: start, baseFetchedAtMillis: worker.hasBase ? nil : start + millis(fetch),
                                     finishesAtMillis: finish))
        worker.hasBase = true
        worker.freeAtMillis = finish
        worker.running.append(attempts.count - 1)
        workers[index] = worker
        heap.push(.resultReady(attempt: attempts.count - 1), at: finish)
    }

    /// Re-executes the result on the verifier free first; the verdict is whether the worker
    /// lied.
    mutating func reexecute(round: Int, shard: Int, worker: String) {
        guard let id = accepted[shard] else { preconditionFailure("a check of a result the scheduler never took") }
        let slot = verifierFreeAtMillis.indices.min { verifierFreeAtMillis[$0] < verifierFreeAtMillis[$1] } ?? 0
        let seconds = Double(attempts[id].steps * config.plan.tokensPerStep) / config.verifierTokensPerSecond
        let finish = max(now, verifierFreeAtMillis[slot]) + millis(seconds)
        verifierFreeAtMillis[slot] = finish
        tally.verified += 1
        heap.push(.checked(round: round, shard: shard, worker: worker, matches: !attempts[id].lied), at: finish)
    }

    /// Counts the round's results and its waits, and applies the outer step after the
    /// aggregation time.
    mutating func close(_ results: [FineTuneScheduler.RoundResult]) {
        let counted = results.compactMap { accepted[$0.shard] }
        for id in counted {
            attempts[id].counted = true
            if attempts[id].lied { tally.badAccepted += 1 }
        }
        let durations = counted.map { attempts[$0].finishesAtMillis - attempts[$0].assignedAtMillis }
        if let slowest = durations.max(), let fastest = durations.min() { tally.stragglerMillis += slowest - fastest }
        if let last = counted.map({ attempts[$0].finishesAtMillis }).max() { tally.verificationWaitMillis += now - last }
        tally.roundResults.append(results.count)
        tally.shardsDropped += scheduler.shards.count - results.count
        heap.push(.outerStepApplied, at: now + millis(config.aggregationSeconds))
    }
}
