import TernMesh
import Testing

@Suite struct ConnectionLimiterTests {
    typealias Limiter = ConnectionLimiter<String>

    func ticket(_ admission: Limiter.Admission) throws -> Limiter.Ticket {
        guard case .admitted(let ticket, _) = admission else {
            Issue.record("expected admission, got \(admission)")
            throw TimedOut()
        }
        return ticket
    }

    @Test func oneAddressGetsItsShareOfHandshakesAndConnections() throws {
        var limiter = Limiter(limits: ConnectionLimits(maxHandshakes: 64, maxHandshakesPerAddress: 2,
                                                       maxConnectionsPerAddress: 3, maxConnections: 100))
        let first = try ticket(limiter.admit(from: "a"))
        let second = try ticket(limiter.admit(from: "a"))
        let thirdFromA = limiter.admit(from: "a")
        #expect(thirdFromA == .refused(.perAddressCap), "two handshakes per address")
        let fromB = try ticket(limiter.admit(from: "b"))
        #expect(fromB != first, "other addresses are unaffected")

        let firstAuthenticated = limiter.authenticate(first)
        #expect(firstAuthenticated)
        let third = try ticket(limiter.admit(from: "a"))
        let fourthFromA = limiter.admit(from: "a")
        #expect(fourthFromA == .refused(.perAddressCap), "three connections per address in all")
        limiter.closed(second)
        limiter.closed(second)
        _ = try ticket(limiter.admit(from: "a"))
        #expect(limiter.handshakeCount == 3)
        #expect(limiter.authenticatedCount == 1)
        _ = third
    }

    @Test func theListenerWideConnectionCapHolds() throws {
        var limiter = Limiter(limits: ConnectionLimits(maxHandshakes: 10, maxHandshakesPerAddress: 10,
                                                       maxConnectionsPerAddress: 10, maxConnections: 2))
        _ = try ticket(limiter.admit(from: "a"))
        _ = try ticket(limiter.admit(from: "b"))
        let fromC = limiter.admit(from: "c")
        #expect(fromC == .refused(.connectionCap))
    }

    @Test func aFullHandshakeTableMakesRoomForALessBusyAddress() throws {
        var limiter = Limiter(limits: ConnectionLimits(maxHandshakes: 4, maxHandshakesPerAddress: 4))
        let oldest = try ticket(limiter.admit(from: "flood"))
        for _ in 0..<3 { _ = try ticket(limiter.admit(from: "flood")) }

        // "honest" holds nothing: it takes the flood's oldest slot.
        let admission = limiter.admit(from: "honest")
        guard case .admitted(let honest, let evicting) = admission else {
            Issue.record("honest peer refused: \(admission)")
            return
        }
        #expect(evicting == oldest)
        #expect(limiter.handshakeCount == 4)
        let evictedAuthenticated = limiter.authenticate(oldest)
        #expect(!evictedAuthenticated, "an evicted handshake cannot authenticate")

        // flood 3, other 0 → other takes one (flood 2, other 1); then flood 2 vs other 1:
        // taking another would only swap the imbalance, so the newcomer is refused.
        guard case .admitted(_, let second?) = limiter.admit(from: "other") else {
            Issue.record("second newcomer refused")
            return
        }
        #expect(second != oldest)
        let secondFromOther = limiter.admit(from: "other")
        #expect(secondFromOther == .refused(.handshakeCapReached))
        let moreFlood = limiter.admit(from: "flood")
        #expect(moreFlood == .refused(.handshakeCapReached))
        let honestAuthenticated = limiter.authenticate(honest)
        #expect(honestAuthenticated)
    }

    @Test func equalHoldersAreNotEvicted() throws {
        var limiter = Limiter(limits: ConnectionLimits(maxHandshakes: 3))
        for source in ["a", "b", "c"] { _ = try ticket(limiter.admit(from: source)) }
        let fromD = limiter.admit(from: "d")
        #expect(fromD == .refused(.handshakeCapReached))
        #expect(limiter.sourceCount == 3)
    }

    @Test func closingEverythingLeavesNoState() throws {
        var limiter = Limiter(limits: ConnectionLimits())
        var tickets: [Limiter.Ticket] = []
        for index in 0..<20 { tickets.append(try ticket(limiter.admit(from: "s\(index % 5)"))) }
        for ticket in tickets.prefix(10) {
            let authenticated = limiter.authenticate(ticket)
            #expect(authenticated)
        }
        for ticket in tickets { limiter.closed(ticket) }
        #expect(limiter.handshakeCount == 0)
        #expect(limiter.authenticatedCount == 0)
        #expect(limiter.sourceCount == 0)
    }
}
