import Testing
import TernMesh

@Suite struct SWIMMessageTests {
    let owner = try! NodeIdentity(seed: [UInt8](repeating: 5, count: 32))

    var updates: [MembershipUpdate] {
        [alive(testID(1), 3, endpoint: "10.0.0.1:7946"), suspect(testID(2), 4, by: testID(1)),
         dead(testID(3), 5, by: testID(1)), left(testID(4), 6)]
    }

    @Test func everyMessageKindRoundTrips() throws {
        let profile = try SignedProfile(profile: sampleProfile(for: owner.nodeID, version: 2), signer: owner)
        let kinds: [SWIMMessage.Kind] = [.ping(probe: 1), .pingRequest(probe: 2, target: testID(7)), .ack(probe: 3), .nack(probe: 4)]
        for kind in kinds {
            let message = SWIMMessage(kind: kind, updates: updates, profiles: [profile])
            let bytes = message.encoded()
            #expect(try SWIMMessage(decoding: bytes) == message)
            #expect(bytes.count <= GossipEnvelope.maxBodyBytes)
        }
        // status, id, incarnation + (endpoint | accuser | nothing) + signature.
        #expect(updates.map(\.wireSize) == [41 + 14 + 64, 41 + 32 + 64, 41 + 32 + 64, 41 + 64])
    }

    @Test func recordsVerifyOnlyForTheirSignerAndMesh() throws {
        for update in updates { #expect(update.hasValidSignature(mesh: .open)) }
        let other = try MeshID(secret: [UInt8](repeating: 1, count: 32))
        for update in updates { #expect(!update.hasValidSignature(mesh: other)) }
        // Moving a record's endpoint (or any field) breaks its signature.
        var bytes = SWIMMessage(kind: .ack(probe: 1), updates: [updates[0]]).encoded()
        bytes[1 + 4 + 2 + 1 + 32 + 8 + 1 + 12] ^= 1  // the endpoint's last digit
        let moved = try SWIMMessage(decoding: bytes).updates[0]
        #expect(moved.endpoint == "10.0.0.1:7947")
        #expect(!moved.hasValidSignature(mesh: .open))
        #expect(updates[1].signer == testID(1) && updates[3].signer == testID(4))
    }

    @Test func malformedMessagesThrow() throws {
        let bytes = SWIMMessage(kind: .ping(probe: 9), updates: [dead(testID(3), 1, by: testID(1))]).encoded()
        for length in 0..<bytes.count {
            #expect(throws: WireError.self) { try SWIMMessage(decoding: Array(bytes.prefix(length))) }
        }
        var badKind = bytes
        badKind[0] = 9
        #expect(throws: WireError.invalidValue(field: "message kind", value: 9)) { try SWIMMessage(decoding: badKind) }
        var badStatus = bytes
        badStatus[1 + 4 + 2] = 7
        #expect(throws: WireError.invalidValue(field: "member status", value: 7)) { try SWIMMessage(decoding: badStatus) }
        #expect(throws: WireError.trailingBytes(count: 1)) { try SWIMMessage(decoding: bytes + [0]) }
    }

    @Test func snapshotFragmentsRoundTripAndSkipBadEntries() throws {
        let profile = try SignedProfile(profile: sampleProfile(for: owner.nodeID, version: 2), signer: owner)
        let members = (10...200).map { alive(testID(UInt8($0))) }
        let snapshot = MembershipSnapshot(members: members, profiles: [profile])
        let fragments = snapshot.fragments(maxBytes: 4_096)
        #expect(fragments.count > 4 && fragments.allSatisfy { $0.count <= 4_096 })
        #expect(fragments.reduce(0) { $0 + $1.count } == snapshot.encodedSize + 8 * (fragments.count - 1))
        var merged = MembershipSnapshot()
        for fragment in fragments {
            let decoded = try MembershipSnapshot.decodeFragment(fragment)
            #expect(decoded.skippedEntries == 0)
            merged.members += decoded.snapshot.members
            merged.profiles += decoded.snapshot.profiles
        }
        #expect(merged == snapshot)
        #expect(MembershipSnapshot().fragments() == [[0, 0, 0, 0, 0, 0, 0, 0]])
        // A damaged entry is skipped; the others still arrive.
        var damaged = MembershipSnapshot(members: Array(members.prefix(3))).fragments()[0]
        damaged[4 + 2] = 9  // the first entry's status byte
        let decoded = try MembershipSnapshot.decodeFragment(damaged)
        #expect(decoded.skippedEntries == 1 && decoded.snapshot.members == Array(members[1..<3]))
        // Broken framing throws, and a count can never make the decoder reserve much.
        #expect(throws: WireError.self) { try MembershipSnapshot.decodeFragment([0xFF, 0xFF, 0xFF, 0xFF]) }
        #expect(throws: WireError.self) { try MembershipSnapshot.decodeFragment(damaged + [1]) }
        // More profiles than members is fine (they are weighed one by one).
        let profilesOnly = MembershipSnapshot(profiles: [profile, profile]).fragments()[0]
        #expect(try MembershipSnapshot.decodeFragment(profilesOnly).snapshot.profiles.count == 2)
    }
}
