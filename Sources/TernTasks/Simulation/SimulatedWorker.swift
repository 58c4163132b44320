/// A modelled worker: fixed speed and link, up or down, and a queue of shards it runs one
/// after another.
struct SimulatedWorker {
    let candidate: WorkerCandidate
    let megabytesPerSecond: Double
    let dishonest: Bool
    var up = true
    var banned = false
    /// Holds the model and dataset (fetched once, kept across restarts).
    var hasBase = false
    /// When the last queued shard ends: the next one starts then.
    var freeAtMillis: UInt64 = 0
    /// Attempts running or queued here, which a crash loses.
    var running: [Int] = []
    /// Results returned so far (a dishonest worker lies after a few honest ones).
    var returned = 0
    /// Since when the worker is up and not banned (nil: it is not).
    var availableSinceMillis: UInt64? = 0
    var availableMillis: UInt64 = 0

    mutating func becomeUnavailable(at now: UInt64) {
        guard let since = availableSinceMillis else { return }
        availableMillis += now - since
        availableSinceMillis = nil
    }
}

/// One assignment of a shard to a worker, and what became of it.
struct ShardAttempt {
    let round: Int
    let shard: Int
    let worker: Int
    let steps: Int
    let assignedAtMillis: UInt64
    let startedAtMillis: UInt64
    /// When the model and dataset are in, if this attempt fetches them.
    let baseFetchedAtMillis: UInt64?
    let finishesAtMillis: UInt64
    /// Set when the worker crashed before the result was out.
    var lostAtMillis: UInt64?
    /// The result was a lie (known once it is returned).
    var lied = false
    /// The result went into a round.
    var counted = false

    /// Time the worker spent on it, up to `end`.
    func busyMillis(until end: UInt64) -> UInt64 {
        let stop = min(lostAtMillis ?? finishesAtMillis, end)
        return stop > startedAtMillis ? stop - startedAtMillis : 0
    }
}
