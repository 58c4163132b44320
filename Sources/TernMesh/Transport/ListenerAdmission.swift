import Foundation
import NIOCore

/// A listener's shared admission state around the pure `ConnectionLimiter`: the channels of
/// handshakes in progress (so that an eviction or the listener's close can reach them) and
/// the rejection counters. It is touched from every event loop that accepts children and
/// from the handshake tasks, hence the lock; nothing that can re-enter it (closing a
/// channel, firing into a pipeline) runs while the lock is held.
final class ListenerAdmission: @unchecked Sendable {
    typealias Ticket = ConnectionLimiter<String>.Ticket

    /// Why the listener's child-channel initializer failed; NIO closes the socket for it.
    struct Refused: Error {}

    private let lock = NSLock()
    private var limiter: ConnectionLimiter<String>
    private var pending: [Ticket: Channel] = [:]
    private var counts: [ConnectionRejection: Int] = [:]
    private var isClosed = false

    init(limits: ConnectionLimits) {
        limiter = ConnectionLimiter(limits: limits)
    }

    /// Admits a freshly accepted channel or counts why not (nil: the caller closes it at
    /// once). An admitted channel gives up its slot when it closes. If admitting it evicted
    /// another handshake, that one is failed with `handshakeEvicted`.
    func admit(_ channel: Channel) -> Ticket? {
        let source = Self.sourceKey(channel.remoteAddress)
        let (ticket, victim): (Ticket?, Channel?) = lock.withLock {
            guard !isClosed else { return (nil, nil) }
            switch limiter.admit(from: source) {
            case .refused(let reason):
                counts[reason, default: 0] += 1
                return (nil, nil)
            case .admitted(let ticket, let evicting):
                pending[ticket] = channel
                guard let evicting else { return (ticket, nil) }
                counts[.handshakeEvicted, default: 0] += 1
                return (ticket, pending.removeValue(forKey: evicting))
            }
        }
        // The error reaches the victim's frame inbox, so its handshake task fails with a
        // reason it will not count again, and the inbox closes the channel.
        victim?.pipeline.fireErrorCaught(TransportError.handshakeEvicted)
        if let ticket {
            channel.closeFuture.whenComplete { _ in self.release(ticket) }
        }
        return ticket
    }

    /// The handshake behind `ticket` succeeded; false if it was evicted meanwhile (then the
    /// caller closes it: its slot already went to someone else).
    func authenticate(_ ticket: Ticket) -> Bool {
        lock.withLock {
            guard pending.removeValue(forKey: ticket) != nil else { return false }
            return limiter.authenticate(ticket)
        }
    }

    func count(_ reason: ConnectionRejection) {
        lock.withLock { counts[reason, default: 0] += 1 }
    }

    /// Stops admitting and closes every handshake still in progress.
    func close() {
        let channels: [Channel] = lock.withLock {
            isClosed = true
            defer { pending.removeAll() }
            return Array(pending.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Every reason, zeros included, so a report has a stable shape.
    func rejectionCounts() -> [String: Int] {
        lock.withLock {
            Dictionary(uniqueKeysWithValues: ConnectionRejection.allCases.map { ($0.rawValue, counts[$0, default: 0]) })
        }
    }

    var load: (handshaking: Int, authenticated: Int, sources: Int) {
        lock.withLock { (limiter.handshakeCount, limiter.authenticatedCount, limiter.sourceCount) }
    }

    private func release(_ ticket: Ticket) {
        lock.withLock {
            pending[ticket] = nil
            limiter.closed(ticket)
        }
    }

    /// What the per-address caps count by: the IPv4 address, or the /64 prefix of an IPv6
    /// address (one host usually controls a whole /64, so counting single IPv6 addresses
    /// would give it 2⁶⁴ quotas). IPv4-mapped IPv6 addresses count as their IPv4 address.
    static func sourceKey(_ address: SocketAddress?) -> String {
        switch address {
        case .v4(let v4)?:
            return withUnsafeBytes(of: v4.address.sin_addr) { $0.map(String.init).joined(separator: ".") }
        case .v6(let v6)?:
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                return bytes[12..<16].map(String.init).joined(separator: ".")
            }
            return bytes[0..<8].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + "/64"
        default:
            return "unknown"
        }
    }
}
