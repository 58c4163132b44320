import Testing
import TernMesh

@Suite struct GossipInboxTests {
    let peer = try! NodeIdentity(seed: [UInt8](repeating: 8, count: 32))
    let now: UInt64 = 1_700_000_000_000

    @Test func deliversValidMessagesAndScoresUndecodableBodies() {
        var inbox = GossipInbox()
        let ping = SWIMMessage(kind: .ping(probe: 4), updates: [dead(testID(2), 1, by: testID(3))])
        let good = GossipEnvelope.seal(body: ping.encoded(), sequence: 1, timestampMillis: now, signer: peer)
        let delivered = inbox.accept(good, source: "10.0.0.8", nowMillis: now)
        #expect(delivered == .deliver(ping, from: peer.nodeID))
        let replay = inbox.accept(good, source: "10.0.0.8", nowMillis: now)
        #expect(replay == .dropped(.envelope(.replayed)))
        #expect(inbox.scores.score(of: peer.nodeID, nowMillis: now) == 0)
        // Signed garbage: the sender is penalised, ten times over it is graylisted.
        for sequence in 2...11 {
            let garbage = GossipEnvelope.seal(body: [9, 9], sequence: UInt64(sequence), timestampMillis: now, signer: peer)
            guard case .dropped(.undecodableBody(peer.nodeID, _)) = inbox.accept(garbage, source: "10.0.0.8", nowMillis: now) else {
                Issue.record("garbage body not dropped")
                return
            }
        }
        let fresh = GossipEnvelope.seal(body: ping.encoded(), sequence: 12, timestampMillis: now, signer: peer)
        let ignored = inbox.accept(fresh, source: "10.0.0.8", nowMillis: now)
        #expect(ignored == .dropped(.graylisted(peer.nodeID)))
    }

    @Test func rateLimitsAFloodingPeer() {
        var inbox = GossipInbox()
        let body = SWIMMessage(kind: .ack(probe: 1)).encoded()
        var outcomes: [GossipInbox.Outcome] = []
        for sequence in 1...60 {
            let packet = GossipEnvelope.seal(body: body, sequence: UInt64(sequence), timestampMillis: now, signer: peer)
            outcomes.append(inbox.accept(packet, source: "10.0.0.8", nowMillis: now))
        }
        #expect(outcomes.filter { if case .deliver = $0 { true } else { false } }.count == 50)
        #expect(outcomes.last == .dropped(.rateLimited(peer.nodeID)))
    }

    /// Junk from one address (any number of ports) is cut off before any parsing or
    /// signature work, while another address is still served; the table of sources is bounded.
    @Test func aFloodingSourceAddressIsLimitedBeforeTheSignatureCheck() {
        var limits = GossipInbox.SourceLimits()
        limits.burst = 20
        limits.datagramsPerSecond = 10
        limits.maxTrackedSources = 8
        var inbox = GossipInbox(sourceLimits: limits)
        var outcomes: [GossipInbox.Outcome] = []
        for index in 0..<100 { outcomes.append(inbox.accept([UInt8](repeating: UInt8(index), count: 200), source: "10.9.9.9", nowMillis: now)) }
        #expect(outcomes.prefix(20).allSatisfy { $0 != .dropped(.sourceRateLimited) })
        #expect(outcomes.dropFirst(20).allSatisfy { $0 == .dropped(.sourceRateLimited) })
        #expect(inbox.verifier.drops.values.reduce(0, +) == 20)  // only the first 20 were parsed at all
        let honest = GossipEnvelope.seal(body: SWIMMessage(kind: .ack(probe: 1)).encoded(), sequence: 1, timestampMillis: now, signer: peer)
        guard case .deliver = inbox.accept(honest, source: "10.0.0.8", nowMillis: now) else {
            Issue.record("another source was starved")
            return
        }
        // A second later the flooding source has 10 more tokens.
        #expect(inbox.accept([1], source: "10.9.9.9", nowMillis: now + 1_000) == .dropped(.envelope(.unknownVersion)))
        for index in 0..<50 { _ = inbox.accept([1], source: "10.1.\(index).1", nowMillis: now) }
        #expect(inbox.trackedSources == 8)
    }
}
