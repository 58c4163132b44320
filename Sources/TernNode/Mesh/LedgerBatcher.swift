import Dispatch
import Foundation
import Logging
import Synchronization
import TernLedger

/// Writes membership facts to the ledger in batches on its own queue, so the mesh actor
/// only appends to a list: a burst of member changes costs one transaction (and one fsync)
/// instead of two per change, and gossip is never answered late because a disk was slow.
///
/// `flush()` waits for everything queued so far (shutdown, tests). The queue is bounded: past
/// `maxPending` the oldest queued profile stores are dropped first (a newer one will come),
/// membership changes never.
final class LedgerBatcher: Sendable {
    private let ledger: Ledger
    private let logger: Logger
    private let queue = DispatchQueue(label: "tern.ledger-batcher")
    private let pending = Mutex<[MembershipWrite]>([])
    private let scheduled = Mutex(false)
    let delay: DispatchTimeInterval
    let maxPending: Int

    init(ledger: Ledger, logger: Logger, delay: DispatchTimeInterval = .milliseconds(200), maxPending: Int = 10_000) {
        self.ledger = ledger
        self.logger = logger
        self.delay = delay
        self.maxPending = maxPending
    }

    func enqueue(_ write: MembershipWrite) {
        pending.withLock { queued in
            queued.append(write)
            if queued.count > maxPending, let stale = queued.firstIndex(where: { if case .profile = $0 { true } else { false } }) {
                queued.remove(at: stale)
            }
        }
        let first = scheduled.withLock { isScheduled in
            defer { isScheduled = true }
            return !isScheduled
        }
        if first { queue.asyncAfter(deadline: .now() + delay) { self.writeQueued() } }
    }

    /// Writes whatever is queued now and returns once it is on disk.
    func flush() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            queue.async {
                self.writeQueued()
                done.resume()
            }
        }
    }

    private func writeQueued() {
        scheduled.withLock { $0 = false }
        let batch = pending.withLock { queued in
            defer { queued.removeAll(keepingCapacity: true) }
            return queued
        }
        guard !batch.isEmpty else { return }
        do {
            try ledger.apply(batch)
        } catch {
            logger.error("ledger batch failed", metadata: ["writes": "\(batch.count)", "error": "\(error)"])
        }
    }
}
