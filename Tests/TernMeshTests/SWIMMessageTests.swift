import Testing
import TernMesh

@Suite struct SWIMMessageTests {
    let owner = try! NodeIdentity(seed: [UInt8](repeating: 5, count: 32))

    @Test func everyMessageKindRoundTrips() throws {
        let profile = try SignedProfile(profile: sampleProfile(for: owner.nodeID, version: 2), signer: owner)
        let updates: [MembershipUpdate] = [
            .alive(testID(1), incarnation: 3, endpoint: "10.0.0.1:7946"),
            .suspect(testID(2), incarnation: 4, by: testID(1)),
            .dead(testID(3), incarnation: 5),
            .left(testID(4), incarnation: 6),
        ]
        let kinds: [SWIMMessage.Kind] = [.ping(probe: 1), .pingRequest(probe: 2, target: testID(7)), .ack(probe: 3), .nack(probe: 4)]
        for kind in kinds {
            let message = SWIMMessage(kind: kind, updates: updates, profiles: [profile])
            let bytes = message.encoded()
            #expect(try SWIMMessage(decoding: bytes) == message)
            #expect(bytes.count <= GossipEnvelope.maxBodyBytes)
        }
        #expect(updates.map(\.wireSize) == [55, 73, 41, 41])
    }

    @Test func malformedMessagesThrow() throws {
        let bytes = SWIMMessage(kind: .ping(probe: 9), updates: [.dead(testID(3), incarnation: 1)]).encoded()
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

    @Test func snapshotRoundTripsAndLimitsItsCounts() throws {
        let profile = try SignedProfile(profile: sampleProfile(for: owner.nodeID, version: 2), signer: owner)
        let snapshot = MembershipSnapshot(members: [.alive(testID(1), incarnation: 0, endpoint: "a:1"), .dead(testID(2), incarnation: 3)],
                                          profiles: [profile])
        #expect(try MembershipSnapshot(decoding: snapshot.encoded()) == snapshot)
        #expect(snapshot.encodedSize == snapshot.encoded().count)
        #expect(throws: WireError.tooLong(field: "snapshot members", length: 0xFFFF_FFFF, limit: WireLimits.maxSnapshotMembers)) {
            try MembershipSnapshot(decoding: [0xFF, 0xFF, 0xFF, 0xFF])
        }
    }
}
