/// Why a listener closed a TCP connection instead of handing it out (or, for
/// `idleTimeout`, after handing it out). The raw values are the names the node reports.
public enum ConnectionRejection: String, CaseIterable, Sendable {
    /// All handshake slots were taken and no busier address could give one up.
    case handshakeCapReached
    /// A pending handshake was dropped so that a peer from a less busy address could start one.
    case handshakeEvicted
    /// The source address already held its share of handshakes or connections.
    case perAddressCap
    /// The listener already held its maximum number of connections.
    case connectionCap
    /// A handshake-stage length prefix announced more than the handshake message it must be.
    case preAuthFrameTooLarge
    /// The peer did not finish the handshake and name its protocol within the timeout.
    case handshakeTimeout
    /// Malformed hello or auth, a signature that does not verify, a bad key or stream header.
    case badHandshake
    /// A well-formed handshake from an identity the listener's requirement does not admit.
    case peerNotAllowed
    /// The peer went away before the handshake finished (port scanners, crashed peers).
    case closedDuringHandshake
    /// The connector's protocol-id frame named a protocol this listener does not serve.
    case unknownProtocol
    /// An authenticated connection that carried no frame either way for the idle timeout.
    case idleTimeout
}

/// How many TCP connections a listener holds at once. Everything a remote party can make a
/// listener hold is bounded here: handshakes cost a task, a socket and a few buffers before
/// the peer has proven anything, so they are capped listener-wide and per source address;
/// authenticated connections are capped per address and in total, which also bounds the
/// limiter's own tables.
public struct ConnectionLimits: Sendable, Equatable {
    /// Handshakes in progress, listener-wide.
    public var maxHandshakes: Int
    /// Handshakes in progress from one source address (an IPv6 source counts per /64).
    public var maxHandshakesPerAddress: Int
    /// Connections from one source address, handshaking or authenticated.
    public var maxConnectionsPerAddress: Int
    /// Connections, handshaking or authenticated, listener-wide.
    public var maxConnections: Int

    public init(maxHandshakes: Int = 64, maxHandshakesPerAddress: Int = 8,
                maxConnectionsPerAddress: Int = 32, maxConnections: Int = 1024) {
        self.maxHandshakes = maxHandshakes
        self.maxHandshakesPerAddress = maxHandshakesPerAddress
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.maxConnections = maxConnections
    }
}

/// The admission rules of a listener, as a pure value: the shell asks before it starts a
/// handshake and reports when a connection authenticates or closes.
///
/// When every handshake slot is taken, a newcomer may take the oldest slot of the address
/// holding the most, but only if that address holds at least two more than the newcomer's
/// address does. A single address (or a few) therefore cannot starve everyone else by
/// opening idle connections: an honest peer from an address with no pending handshake gets
/// a slot as long as some address holds two or more. Refusing instead would let 8 addresses
/// lock the listener for a whole handshake timeout.
public struct ConnectionLimiter<Source: Hashable> {
    /// Names one admitted connection; serials increase, so a smaller ticket is older.
    public struct Ticket: Hashable, Comparable, Sendable {
        let serial: UInt64
        public static func < (lhs: Ticket, rhs: Ticket) -> Bool { lhs.serial < rhs.serial }
    }

    public enum Admission: Equatable {
        /// Start the handshake; first close `evicting`'s connection (its slot is already freed).
        case admitted(Ticket, evicting: Ticket?)
        case refused(ConnectionRejection)
    }

    private struct Held {
        var handshaking = 0
        var total = 0
    }

    public let limits: ConnectionLimits
    private var nextSerial: UInt64 = 0
    /// At most `maxHandshakes` entries.
    private var handshakes: [Ticket: Source] = [:]
    /// At most `maxConnections` entries.
    private var authenticated: [Ticket: Source] = [:]
    /// One entry per source with a connection open, so at most `maxConnections` entries.
    private var held: [Source: Held] = [:]

    public init(limits: ConnectionLimits) {
        self.limits = limits
    }

    public var handshakeCount: Int { handshakes.count }
    public var authenticatedCount: Int { authenticated.count }
    public var sourceCount: Int { held.count }

    public mutating func admit(from source: Source) -> Admission {
        let mine = held[source] ?? Held()
        guard handshakes.count + authenticated.count < limits.maxConnections else { return .refused(.connectionCap) }
        guard mine.total < limits.maxConnectionsPerAddress,
              mine.handshaking < limits.maxHandshakesPerAddress else { return .refused(.perAddressCap) }
        var evicted: Ticket?
        if handshakes.count >= limits.maxHandshakes {
            guard let victim = evictionCandidate(newcomerHolds: mine.handshaking) else {
                return .refused(.handshakeCapReached)
            }
            closed(victim)
            evicted = victim
        }
        let ticket = Ticket(serial: nextSerial)
        nextSerial += 1
        handshakes[ticket] = source
        held[source, default: Held()].handshaking += 1
        held[source, default: Held()].total += 1
        return .admitted(ticket, evicting: evicted)
    }

    /// The handshake behind `ticket` succeeded. False if the ticket no longer holds a
    /// handshake slot (it was evicted or closed meanwhile): the caller must drop it.
    public mutating func authenticate(_ ticket: Ticket) -> Bool {
        guard let source = handshakes.removeValue(forKey: ticket) else { return false }
        authenticated[ticket] = source
        held[source]?.handshaking -= 1
        return true
    }

    /// The connection closed (or was evicted). Unknown tickets are ignored, so the shell
    /// may report a close that eviction already accounted for.
    public mutating func closed(_ ticket: Ticket) {
        let wasHandshaking: Bool
        let source: Source
        if let handshaking = handshakes.removeValue(forKey: ticket) {
            (source, wasHandshaking) = (handshaking, true)
        } else if let established = authenticated.removeValue(forKey: ticket) {
            (source, wasHandshaking) = (established, false)
        } else {
            return
        }
        guard var counts = held[source] else { return }
        counts.total -= 1
        if wasHandshaking { counts.handshaking -= 1 }
        held[source] = counts.total > 0 ? counts : nil
    }

    /// The oldest handshake of the address holding the most (ties: the older handshake),
    /// if taking it leaves that address with at least as many as the newcomer's will hold.
    /// Scans at most `maxHandshakes` entries.
    private func evictionCandidate(newcomerHolds: Int) -> Ticket? {
        var oldest: [Source: Ticket] = [:]
        for (ticket, source) in handshakes where oldest[source].map({ ticket < $0 }) ?? true {
            oldest[source] = ticket
        }
        var best: (ticket: Ticket, holds: Int)?
        for (source, ticket) in oldest {
            let holds = held[source]?.handshaking ?? 0
            if let current = best, holds < current.holds || (holds == current.holds && current.ticket < ticket) { continue }
            best = (ticket, holds)
        }
        guard let best, best.holds > newcomerHolds + 1 else { return nil }
        return best.ticket
    }
}
