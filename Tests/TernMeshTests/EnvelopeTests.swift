import TernSupport
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
        #expect(result1 == .dropped(.badSignature))
        // Mallory signs but claims to be Alice.
        var forged = packet(2, by: mallory)
        forged.replaceSubrange(1...32, with: alice.nodeID.bytes)
        let result2 = verifier.verify(forged, nowMillis: now)
        #expect(result2 == .dropped(.badSignature))
        #expect(verifier.drops[.badSignature] == 2)
    }

    @Test func replayedAndStaleSequencesAreDropped() {
        var verifier = EnvelopeVerifier()
        guard case .accepted = verifier.verify(packet(100), nowMillis: now) else {
            Issue.record("first sequence rejected")
            return
        }
        let result4 = verifier.verify(packet(100), nowMillis: now)
        #expect(result4 == .dropped(.replayed))
        // Out of order inside the window is fine, once.
        guard case .accepted = verifier.verify(packet(90), nowMillis: now) else {
            Issue.record("in-window sequence rejected")
            return
        }
        let result5 = verifier.verify(packet(90), nowMillis: now)
        #expect(result5 == .dropped(.replayed))
        let result6 = verifier.verify(packet(36), nowMillis: now)
        #expect(result6 == .dropped(.staleSequence))
        guard case .accepted = verifier.verify(packet(500), nowMillis: now) else {
            Issue.record("newer sequence rejected")
            return
        }
        let result7 = verifier.verify(packet(100), nowMillis: now)
        #expect(result7 == .dropped(.staleSequence))
        #expect(verifier.drops[.replayed] == 2)
    }

    @Test func timestampFarFromLocalClockIsDropped() {
        var verifier = EnvelopeVerifier(maxClockSkewMillis: 1_000)
        let result8 = verifier.verify(packet(1, at: now + 5_000), nowMillis: now)
        #expect(result8 == .dropped(.clockSkew))
        let result9 = verifier.verify(packet(2, at: now - 5_000), nowMillis: now)
        #expect(result9 == .dropped(.clockSkew))
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
            #expect(verdict == .dropped(.truncated), "length \(length)")
        }
        let result10 = verifier.verify(good + [0], nowMillis: now)
        #expect(result10 == .dropped(.malformed))
        let result11 = verifier.verify([UInt8](repeating: 1, count: WireLimits.maxPacketBytes + 1), nowMillis: now)
        #expect(result11 == .dropped(.oversize))
        var future = good
        future[0] = 3
        let result12 = verifier.verify(future, nowMillis: now)
        #expect(result12 == .dropped(.unknownVersion))
        #expect(verifier.drops[.truncated] == 6)
        #expect(verifier.acceptedCount == 0)
    }

    @Test func anEnvelopeFromAnotherMeshNeverVerifies() throws {
        let privateMesh = try MeshID(secret: [UInt8](repeating: 9, count: 32))
        var open = EnvelopeVerifier()
        var closed = EnvelopeVerifier(mesh: privateMesh)
        let forPrivate = GossipEnvelope.seal(body: [1], sequence: 1, timestampMillis: now, signer: alice, mesh: privateMesh)
        #expect(open.verify(forPrivate, nowMillis: now) == .dropped(.badSignature))
        #expect(closed.verify(packet(2), nowMillis: now) == .dropped(.badSignature))
        guard case .accepted = closed.verify(forPrivate, nowMillis: now) else {
            Issue.record("own mesh rejected")
            return
        }
        #expect(privateMesh != MeshID.open)
        #expect(throws: IdentityError.badMeshKey(length: 5)) { try MeshID(secret: [1, 2, 3, 4, 5]) }
    }

    /// Per-sender state is keyed by verified senders only and bounded: a flood of fresh keys
    /// keeps at most `maxTrackedSenders` replay windows.
    @Test func replayWindowsAreBoundedAndForgetTheLeastRecent() {
        var verifier = EnvelopeVerifier(maxTrackedSenders: 4)
        for byte in UInt8(10)..<20 {
            _ = verifier.verify(GossipEnvelope.seal(body: [], sequence: 5, timestampMillis: now, signer: testIdentity(byte)), nowMillis: now)
        }
        #expect(verifier.trackedSenders == 4)
        // A forged packet naming a new sender leaves no state behind.
        var forged = packet(1)
        forged[forged.count - 1] ^= 1
        _ = verifier.verify(forged, nowMillis: now)
        #expect(verifier.trackedSenders == 4)
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
