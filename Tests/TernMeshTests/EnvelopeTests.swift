import Testing
import TernMesh

@Suite struct EnvelopeTests {
    let alice = try! NodeIdentity(seed: [UInt8](repeating: 1, count: 32))
    let mallory = try! NodeIdentity(seed: [UInt8](repeating: 2, count: 32))
    let now: UInt64 = 1_700_000_000_000

    func packet(_ sequence: UInt64, body: [UInt8] = [1, 2, 3], at time: UInt64? = nil, by signer: NodeIdentity? = nil) -> [UInt8] {
        GossipEnvelope.seal(body: body, sequence: sequence, timestampMillis: time ?? now, signer: signer ?? alice)
    }

    @Test func sealedEnvelopeIsAcceptedWithItsFields() throws {
        var verifier = EnvelopeVerifier()
        let bytes = packet(5)
        #expect(bytes.count == GossipEnvelope.overheadBytes + 3)
        guard case let .accepted(envelope) = verifier.verify(bytes, nowMillis: now + 100) else {
            Issue.record("valid envelope rejected")
            return
        }
        #expect(envelope.sender == alice.nodeID)
        #expect(envelope.sequence == 5 && envelope.timestampMillis == now && envelope.body == [1, 2, 3])
        #expect(verifier.acceptedCount == 1)
    }

    @Test func forgedOrTamperedSignatureIsDroppedAndCounted() {
        var verifier = EnvelopeVerifier()
        var tampered = packet(1)
        tampered[tampered.count - 70] ^= 0x01  // a body byte
        let result1 = verifier.verify(tampered, nowMillis: now)
        #expect(result1 == .dropped(.badSignature, sender: alice.nodeID))
        // Mallory signs but claims to be Alice.
        var forged = packet(2, by: mallory)
        forged.replaceSubrange(1...32, with: alice.nodeID.bytes)
        let result2 = verifier.verify(forged, nowMillis: now)
        #expect(result2 == .dropped(.badSignature, sender: alice.nodeID))
        #expect(verifier.drops(from: alice.nodeID, reason: .badSignature) == 2)
    }

    @Test func replayedAndStaleSequencesAreDropped() {
        var verifier = EnvelopeVerifier()
        let result3 = verifier.verify(packet(100), nowMillis: now)
        #expect(result3 != .dropped(.replayed, sender: alice.nodeID))
        let result4 = verifier.verify(packet(100), nowMillis: now)
        #expect(result4 == .dropped(.replayed, sender: alice.nodeID))
        // Out of order inside the window is fine, once.
        guard case .accepted = verifier.verify(packet(90), nowMillis: now) else {
            Issue.record("in-window sequence rejected")
            return
        }
        let result5 = verifier.verify(packet(90), nowMillis: now)
        #expect(result5 == .dropped(.replayed, sender: alice.nodeID))
        let result6 = verifier.verify(packet(36), nowMillis: now)
        #expect(result6 == .dropped(.staleSequence, sender: alice.nodeID))
        guard case .accepted = verifier.verify(packet(500), nowMillis: now) else {
            Issue.record("newer sequence rejected")
            return
        }
        let result7 = verifier.verify(packet(100), nowMillis: now)
        #expect(result7 == .dropped(.staleSequence, sender: alice.nodeID))
        #expect(verifier.drops(from: alice.nodeID, reason: .replayed) == 2)
    }

    @Test func timestampFarFromLocalClockIsDropped() {
        var verifier = EnvelopeVerifier(maxClockSkewMillis: 1_000)
        let result8 = verifier.verify(packet(1, at: now + 5_000), nowMillis: now)
        #expect(result8 == .dropped(.clockSkew, sender: alice.nodeID))
        let result9 = verifier.verify(packet(2, at: now - 5_000), nowMillis: now)
        #expect(result9 == .dropped(.clockSkew, sender: alice.nodeID))
        // A rejected packet must not burn its sequence number.
        guard case .accepted = verifier.verify(packet(1), nowMillis: now) else {
            Issue.record("sequence burnt by a dropped packet")
            return
        }
    }

    @Test func truncatedOversizeAndUnknownVersionPacketsAreDropped() {
        var verifier = EnvelopeVerifier()
        let good = packet(1)
        for length in [0, 1, 20, 40, 60, good.count - 1] {
            let verdict = verifier.verify(Array(good.prefix(length)), nowMillis: now)
            #expect(verdict == .dropped(.truncated, sender: length >= 33 ? alice.nodeID : nil), "length \(length)")
        }
        let result10 = verifier.verify(good + [0], nowMillis: now)
        #expect(result10 == .dropped(.malformed, sender: alice.nodeID))
        let result11 = verifier.verify([UInt8](repeating: 1, count: WireLimits.maxPacketBytes + 1), nowMillis: now)
        #expect(result11
                == .dropped(.oversize, sender: testID(1)))
        var future = good
        future[0] = 2
        let result12 = verifier.verify(future, nowMillis: now)
        #expect(result12 == .dropped(.unknownVersion, sender: alice.nodeID))
        #expect(verifier.unattributedDrops[.truncated] == 3)
        #expect(verifier.acceptedCount == 0)
    }

    @Test func randomGarbageNeverCrashesTheVerifier() {
        var verifier = EnvelopeVerifier()
        var random = SplitMix64(seed: 42)
        let good = packet(1)
        for round in 0..<2_000 {
            var bytes = round % 2 == 0 ? good : (0..<Int(random.next() % 1500)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if !bytes.isEmpty { bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1) }
            if case .accepted = verifier.verify(bytes, nowMillis: now) { Issue.record("corrupted packet accepted") }
        }
    }
}
