import Testing
import TernMesh

@Suite struct GossipInboxTests {
    let peer = try! NodeIdentity(seed: [UInt8](repeating: 8, count: 32))
    let now: UInt64 = 1_700_000_000_000

    @Test func deliversValidMessagesAndScoresUndecodableBodies() {
        var inbox = GossipInbox()
        let ping = SWIMMessage(kind: .ping(probe: 4), updates: [.dead(testID(2), incarnation: 1)])
        let good = GossipEnvelope.seal(body: ping.encoded(), sequence: 1, timestampMillis: now, signer: peer)
        let delivered = inbox.accept(good, nowMillis: now)
        #expect(delivered == .deliver(ping, from: peer.nodeID))
        let replay = inbox.accept(good, nowMillis: now)
        #expect(replay == .dropped(.envelope(.replayed, sender: peer.nodeID)))
        #expect(inbox.scores.score(of: peer.nodeID, nowMillis: now) == 0)
        // Signed garbage: the sender is penalised, ten times over it is graylisted.
        for sequence in 2...11 {
            let garbage = GossipEnvelope.seal(body: [9, 9], sequence: UInt64(sequence), timestampMillis: now, signer: peer)
            guard case .dropped(.undecodableBody(peer.nodeID, _)) = inbox.accept(garbage, nowMillis: now) else {
                Issue.record("garbage body not dropped")
                return
            }
        }
        let fresh = GossipEnvelope.seal(body: ping.encoded(), sequence: 12, timestampMillis: now, signer: peer)
        let ignored = inbox.accept(fresh, nowMillis: now)
        #expect(ignored == .dropped(.graylisted(peer.nodeID)))
    }

    @Test func rateLimitsAFloodingPeer() {
        var inbox = GossipInbox()
        let body = SWIMMessage(kind: .ack(probe: 1)).encoded()
        var outcomes: [GossipInbox.Outcome] = []
        for sequence in 1...60 {
            outcomes.append(inbox.accept(GossipEnvelope.seal(body: body, sequence: UInt64(sequence), timestampMillis: now, signer: peer), nowMillis: now))
        }
        #expect(outcomes.filter { if case .deliver = $0 { true } else { false } }.count == 50)
        #expect(outcomes.last == .dropped(.rateLimited(peer.nodeID)))
    }
}
