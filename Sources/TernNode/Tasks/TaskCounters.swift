import Synchronization

/// Counts what the task plane refused or saw go wrong, by reason (`blob.badRequest`,
/// `task.busy`, `fetch.badChunk`, …), for `tern node status`. Thread-safe: the stream
/// servers count from their own tasks without a hop to an actor.
final class TaskCounters: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func count(_ reason: String, by amount: Int = 1) {
        counts.withLock { $0[reason, default: 0] += amount }
    }

    var snapshot: [String: Int] { counts.withLock { $0 } }
}

/// Caps how fast this node serves blob bytes to peers (`--upload-limit`): a consumer device
/// on a home uplink must not let the mesh take all of it. Each chunk reserves its bytes on a
/// shared timeline and waits until its slot; unlimited when `bytesPerSecond` is nil.
final class UploadLimiter: Sendable {
    private let bytesPerSecond: Double?
    private let nextFree = Mutex<ContinuousClock.Instant>(.now)

    init(bytesPerSecond: Double?) {
        self.bytesPerSecond = bytesPerSecond.flatMap { $0 > 0 ? $0 : nil }
    }

    func acquire(_ bytes: Int) async throws {
        guard let rate = bytesPerSecond else { return }
        let cost = Duration.seconds(Double(bytes) / rate)
        let start = nextFree.withLock { next in
            let start = max(next, .now)
            next = start + cost
            return start
        }
        if start > .now { try await Task.sleep(until: start, clock: .continuous) }
    }
}

/// Bounds the streams one peer may hold open to this node at once (per protocol), so a peer
/// cannot tie up every serving task.
final class StreamQuota: Sendable {
    private let limit: Int
    private let open = Mutex<[String: Int]>([:])

    init(limit: Int) { self.limit = limit }

    /// Takes a slot for `key`, false when its limit is reached.
    func take(_ key: String) -> Bool {
        open.withLock { table in
            guard table[key, default: 0] < limit else { return false }
            table[key, default: 0] += 1
            return true
        }
    }

    func release(_ key: String) {
        open.withLock { table in
            let left = table[key, default: 1] - 1
            table[key] = left > 0 ? left : nil
        }
    }
}
