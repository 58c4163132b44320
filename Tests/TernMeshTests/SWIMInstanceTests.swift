import Testing
import TernMesh

@Suite struct SWIMInstanceTests {
    let a = testID(1), b = testID(2), c = testID(3), d = testID(4), e = testID(5)

    func instance(_ me: NodeID, settings: SWIMSettings = SWIMSettings(), members: [NodeID]? = nil) -> SWIMInstance {
        SWIMInstance(signer: signer(me), endpoint: testEndpoint(me), settings: settings,
                     knownMembers: table(members ?? [a, b, c, d, e]), seed: 11, nowMillis: 0)
    }

    @Test func probeAnsweredByAckRaisesNoSuspicion() throws {
        var swim = instance(a)
        let start = swim.nextWakeupMillis
        #expect(start < 1_000)
        let pings = swim.tick(nowMillis: start).sends
        #expect(pings.count == 1)
        guard case let .ping(probe) = pings[0].message.kind else {
            Issue.record("first message is not a ping")
            return
        }
        #expect(pings[0].to != a)
        _ = swim.receive(SWIMMessage(kind: .ack(probe: probe)), from: pings[0].to, nowMillis: start + 20)
        #expect(swim.nextWakeupMillis == start + 1_000)
        let next = swim.tick(nowMillis: start + 1_000)
        #expect(next.sends.count == 1 && next.changes.isEmpty)
        #expect(swim.members.status(of: pings[0].to) == .alive)
        #expect(swim.localHealth.score == 0)
    }

    @Test func silentTargetGoesIndirectThenSuspectThenDead() throws {
        var swim = instance(a)
        let start = swim.nextWakeupMillis
        let target = swim.tick(nowMillis: start).sends[0].to
        // No ack: after the probe timeout, k = 3 others are asked, and the target is pinged again.
        let escalation = swim.tick(nowMillis: start + 500).sends
        let requests = escalation.filter { if case .pingRequest(_, target) = $0.message.kind { true } else { false } }
        #expect(Set(requests.map(\.to)) == Set([a, b, c, d, e]).subtracting([a, target]))
        #expect(escalation.contains { $0.to == target })
        // Helpers report the target silent (nacks), so local health stays good.
        for request in requests {
            guard case let .pingRequest(probe, _) = request.message.kind else { continue }
            _ = swim.receive(SWIMMessage(kind: .nack(probe: probe)), from: request.to, nowMillis: start + 700)
        }
        let failed = swim.tick(nowMillis: start + 1_000)
        #expect(failed.changes.map(\.status) == [.suspect])
        #expect(failed.changes.first?.node == target)
        #expect(swim.localHealth.score == 0)
        // n = 5: min timeout 5 s, max 30 s; no confirmations → 30 s.
        var harness = SWIMHarness(swim, down: [target])
        harness.run(until: start + 1_000 + 29_999)
        #expect(harness.swim.members.status(of: target) == .suspect)
        harness.run(until: start + 1_000 + 30_000)
        #expect(harness.swim.members.status(of: target) == .dead)
        #expect(harness.changes.last?.change.status == .dead)
    }

    @Test func independentSuspicionsShortenTheTimeout() {
        var swim = instance(a)
        _ = swim.receive(SWIMMessage(kind: .ack(probe: 0), updates: [suspect(e, 0, by: b)]), from: b, nowMillis: 0)
        _ = swim.receive(SWIMMessage(kind: .ack(probe: 0), updates: [suspect(e, 0, by: c)]), from: c, nowMillis: 0)
        _ = swim.receive(SWIMMessage(kind: .ack(probe: 0), updates: [suspect(e, 0, by: d)]), from: d, nowMillis: 0)
        var harness = SWIMHarness(swim, down: [e])
        harness.run(until: 30_000)
        // n = 5: 5 s ≤ timeout ≤ 30 s. Two confirmations beyond the first suspicion of K = 3:
        // 30 s − 25 s · log 3 / log 4 = 10.19 s instead of 30 s.
        let death = harness.changes.first { $0.change.node == e && $0.change.status == .dead }
        #expect(death?.at == 10_187)
    }

    @Test func suspicionsInheritedFromAJoinTableExpire() {
        let known = MemberTable([a, b, c, d, e].map { alive($0) }
                                + [suspect(c, 0, by: b)])
        var harness = SWIMHarness(SWIMInstance(signer: signer(a), endpoint: testEndpoint(a), knownMembers: known, seed: 3, nowMillis: 0), down: [c])
        harness.run(until: 29_999)
        #expect(harness.swim.members.status(of: c) == .suspect)
        harness.run(until: 30_000)
        #expect(harness.swim.members.status(of: c) == .dead)
    }

    @Test func leavingAnnouncesLeftAndGoesQuiet() {
        var leaver = instance(a)
        let farewell = leaver.leave().sends
        #expect(farewell.count == 3)
        let announcement = left(a, 1)
        #expect(farewell.allSatisfy { $0.message.updates.contains(announcement) })
        #expect(leaver.tick(nowMillis: 10_000).isEmpty)
        var peer = instance(b)
        let changes = peer.receive(farewell[0].message, from: a, nowMillis: 150).changes
        #expect(changes.map(\.status) == [.left])
        #expect(peer.groupSize == 4)
    }

    @Test func suspectRefutesWithHigherIncarnation() {
        var swim = instance(a)
        _ = swim.receive(SWIMMessage(kind: .ping(probe: 1), updates: [suspect(a, 0, by: b)]), from: b, nowMillis: 10)
        #expect(swim.incarnation == 1)
        #expect(swim.localHealth.score == 1)
        let outgoing = swim.tick(nowMillis: swim.nextWakeupMillis).sends
        #expect(outgoing.first?.message.updates.contains(alive(a, 1, endpoint: "10.0.0.1:7946")) == true)
        // Another member that suspected `a` accepts the refutation.
        var other = instance(b)
        _ = other.receive(SWIMMessage(kind: .ack(probe: 0), updates: [suspect(a, 0, by: c)]), from: c, nowMillis: 10)
        #expect(other.members.status(of: a) == .suspect)
        let changes = other.receive(SWIMMessage(kind: .ack(probe: 0), updates: [alive(a, 1)]), from: a, nowMillis: 20).changes
        #expect(changes.map(\.status) == [.alive])
        #expect(other.members.status(of: a) == .alive && other.members.incarnation(of: a) == 1)
        // An old suspicion cannot override the refutation; a dead report about self is refuted too.
        _ = other.receive(SWIMMessage(kind: .ack(probe: 0), updates: [suspect(a, 0, by: c)]), from: c, nowMillis: 30)
        #expect(other.members.status(of: a) == .alive)
        _ = swim.receive(SWIMMessage(kind: .ack(probe: 0), updates: [dead(a, 1, by: c)]), from: c, nowMillis: 40)
        #expect(swim.incarnation == 2)
    }

    @Test func missedNacksRaiseLocalHealthAndStretchTheProbeInterval() {
        // Everyone else is unreachable and no nacks come back: this node is the likely problem.
        var harness = SWIMHarness(instance(a), down: [b, c, d, e])
        harness.helpersSendNacks = false
        let start = harness.swim.nextWakeupMillis
        harness.run(until: start + 999)
        #expect(harness.swim.localHealth.score == 0)
        harness.run(until: start + 1_000)
        #expect(harness.swim.localHealth.score == 3)  // three missing nacks
        #expect(harness.swim.localHealth.multiplier == 4)
        // The next probe waits 4 × 500 ms before escalating and 4 × 1 s before the next one.
        let pingTimes = harness.directives.count
        harness.run(until: start + 1_000 + 1_999)
        #expect(harness.directives.count == pingTimes)
        harness.run(until: start + 1_000 + 2_000)
        #expect(harness.directives.count > pingTimes)
        #expect(harness.swim.nextWakeupMillis == start + 1_000 + 4_000)
        // Answers bring health back.
        harness.down = []
        harness.run(until: start + 60_000)
        #expect(harness.swim.localHealth.score == 0)
    }

    @Test func relaysPingRequestsWithAckOrNack() {
        var swim = instance(b)
        let forwarded = swim.receive(SWIMMessage(kind: .pingRequest(probe: 77, target: c)), from: a, nowMillis: 100).sends
        #expect(forwarded.count == 1 && forwarded[0].to == c)
        guard case let .ping(relayProbe) = forwarded[0].message.kind else {
            Issue.record("relay did not ping the target")
            return
        }
        let acked = swim.receive(SWIMMessage(kind: .ack(probe: relayProbe)), from: c, nowMillis: 150).sends
        #expect(acked.map(\.to) == [a])
        #expect(acked.first?.message.kind == .ack(probe: 77))
        _ = swim.receive(SWIMMessage(kind: .pingRequest(probe: 78, target: d)), from: a, nowMillis: 200)
        let timedOut = swim.tick(nowMillis: 700).sends.filter { $0.to == a }
        #expect(timedOut.map(\.message.kind) == [.nack(probe: 78)])
        // A request about an unknown node is answered with a nack at once.
        let unknown = swim.receive(SWIMMessage(kind: .pingRequest(probe: 79, target: testID(99))), from: a, nowMillis: 800).sends
        #expect(unknown.map(\.message.kind) == [.nack(probe: 79)])
    }

    @Test func emitsPushPullAndMergesSnapshotsSoftly() {
        var settings = SWIMSettings()
        settings.pushPullEveryPeriods = 3
        var harness = SWIMHarness(instance(a, settings: settings))
        harness.run(until: 3_999)
        let pushPulls = harness.directives.filter { if case .pushPull = $0 { true } else { false } }
        #expect(pushPulls.count == 1)
        var swim = instance(a, members: [a, b, c])
        let snapshot = MembershipSnapshot(members: [alive(e, 2, endpoint: "10.0.0.5:7946"), dead(c, 0, by: b)], profiles: [])
        let changes = swim.merge(snapshot, from: b, nowMillis: 0).changes
        #expect(changes.map(\.status) == [.alive, .suspect])
        #expect(swim.members.status(of: e) == .alive && swim.members.endpoint(of: e) == "10.0.0.5:7946")
        #expect(swim.members.status(of: c) == .suspect)
        #expect(swim.members.count == 4)
        // The snapshot passes on every live member's own alive record and the accusation as signed.
        #expect(swim.snapshot().members.filter { $0.status == .alive }.count == 4)
        #expect(swim.snapshot().members.contains(dead(c, 0, by: b)))
    }

    @Test func profilesKeepNewestVersionAndRejectBadSignatures() throws {
        let owner = try NodeIdentity(seed: [UInt8](repeating: 6, count: 32))
        var swim = instance(a, members: [a, b, c, owner.nodeID])
        let v1 = try SignedProfile(profile: sampleProfile(for: owner.nodeID, version: 1), signer: owner)
        let v2 = try SignedProfile(profile: sampleProfile(for: owner.nodeID, version: 2), signer: owner)
        let learned = swim.receive(SWIMMessage(kind: .ack(probe: 0), profiles: [v2, v1]), from: b, nowMillis: 0)
        #expect(learned == [.profileLearned(v2)])
        #expect(swim.profiles[owner.nodeID]?.version == 2)
        var changed = v2.profile
        changed.profileVersion = 3
        let forged = try SignedProfile(encodedProfile: try changed.encoded(), signature: v2.signature)
        let rejected = swim.receive(SWIMMessage(kind: .ack(probe: 0), profiles: [forged]), from: c, nowMillis: 10)
        #expect(rejected.count == 1)
        if case let .invalidRecord(from, _)? = rejected.first { #expect(from == c) } else { Issue.record("forged profile not reported") }
        #expect(swim.profiles[owner.nodeID]?.version == 2)
        // The new version is gossiped onwards.
        let next = swim.tick(nowMillis: swim.nextWakeupMillis).sends
        #expect(next.first?.message.profiles == [v2])
    }
}

/// The trust rules of docs/protocol.md §6: who may say what about whom.
@Suite struct SWIMTrustTests {
    let a = testID(1), b = testID(2), c = testID(3), d = testID(4), e = testID(5)
    let stranger = testID(66)

    func instance(_ me: NodeID, settings: SWIMSettings = SWIMSettings()) -> SWIMInstance {
        SWIMInstance(signer: signer(me), endpoint: testEndpoint(me), settings: settings, knownMembers: table([a, b, c, d, e]),
                     seed: 5, nowMillis: 0)
    }

    func ack(_ updates: [MembershipUpdate]) -> SWIMMessage { SWIMMessage(kind: .ack(probe: 0), updates: updates) }

    /// Signs with `key` while naming `nodeID`.
    struct Forger: EnvelopeSigner {
        let nodeID: NodeID
        let key: NodeIdentity
        func sign(_ message: [UInt8]) -> [UInt8] { key.sign(message) }
    }

    @Test func onlyANodeCanAnnounceMoveOrRetireItself() {
        var swim = instance(a)
        let forgedAlive = MembershipUpdate.alive(incarnation: 5, endpoint: "10.6.6.6:1", signer: Forger(nodeID: b, key: signer(c)), mesh: .open)
        let forgedLeft = MembershipUpdate.left(incarnation: 5, signer: Forger(nodeID: b, key: signer(c)), mesh: .open)
        let phantom = MembershipUpdate.alive(incarnation: 0, endpoint: "10.6.6.6:1", signer: Forger(nodeID: stranger, key: signer(c)), mesh: .open)
        let out = swim.receive(ack([forgedAlive, forgedLeft, phantom]), from: c, nowMillis: 10)
        #expect(out.filter { if case .invalidRecord(c, .badSignature) = $0 { true } else { false } }.count == 3)
        #expect(swim.members.status(of: b) == .alive && swim.members.endpoint(of: b) == testEndpoint(b))
        #expect(!swim.members.contains(stranger))
        #expect(swim.rejections[.badSignature] == 3)
        // The real thing is taken, relayed by anyone.
        _ = swim.receive(ack([alive(b, 1, endpoint: "10.0.0.2:8000"), alive(stranger)]), from: c, nowMillis: 20)
        #expect(swim.members.endpoint(of: b) == "10.0.0.2:8000" && swim.members.status(of: stranger) == .alive)
        // A host name, a wildcard or port 0 is never taken as an endpoint.
        for endpoint in ["example.org:7946", "0.0.0.0:7946", "10.0.0.9:0", "[::]:7946", "10.0.0.9"] {
            _ = swim.receive(ack([alive(b, 9, endpoint: endpoint)]), from: c, nowMillis: 30)
        }
        #expect(swim.rejections[.badEndpoint] == 5 && swim.members.incarnation(of: b) == 1)
    }

    @Test func accusationsCountOnlyFromMembersAtTheKnownIncarnation() {
        var swim = instance(a)
        _ = swim.receive(ack([suspect(b, 0, by: stranger), dead(b, 0, by: stranger)]), from: stranger, nowMillis: 10)
        #expect(swim.members.status(of: b) == .alive && swim.rejections[.accuserNotMember] == 2)
        _ = swim.receive(ack([suspect(b, 7, by: c)]), from: c, nowMillis: 10)
        #expect(swim.members.status(of: b) == .alive && swim.rejections[.futureIncarnation] == 1)
        // A forged co-accuser: c's name, d's signature.
        let forged = MembershipUpdate.suspect(b, incarnation: 0, accuser: Forger(nodeID: c, key: signer(d)), mesh: .open)
        _ = swim.receive(ack([forged]), from: d, nowMillis: 10)
        #expect(swim.members.status(of: b) == .alive && swim.rejections[.badSignature] == 1)
        _ = swim.receive(ack([suspect(b, 0, by: c)]), from: c, nowMillis: 10)
        #expect(swim.members.status(of: b) == .suspect)
    }

    /// A dead record is one member's vote: three keep the member suspect (it can still
    /// refute); the fourth distinct voter declares it dead at once.
    @Test func deadVotesNeedAQuorumOfDistinctMembers() {
        let members = (1...8).map { testID(UInt8($0)) }
        var swim = SWIMInstance(signer: signer(members[0]), endpoint: testEndpoint(members[0]), knownMembers: table(members), seed: 1, nowMillis: 0)
        let victim = members[7]
        for voter in members[1...3] {
            _ = swim.receive(ack([dead(victim, 0, by: voter), dead(victim, 0, by: voter)]), from: voter, nowMillis: 10)
        }
        #expect(swim.members.status(of: victim) == .suspect)
        let changes = swim.receive(ack([dead(victim, 0, by: members[4])]), from: members[4], nowMillis: 20).changes
        #expect(changes.map(\.status) == [.dead] && swim.members.status(of: victim) == .dead)
    }

    /// Wire values at the top of the range never trap and never freeze a node out.
    @Test func incarnationsAtTheMaximumAreRefusedNotTrapped() {
        var swim = instance(a)
        _ = swim.receive(ack([suspect(a, .max, by: b), dead(a, .max, by: b), alive(a, .max), left(a, .max)]), from: b, nowMillis: 10)
        #expect(swim.incarnation == 0)
        _ = swim.receive(ack([alive(b, .max), left(b, .max), suspect(b, .max, by: c), alive(stranger, .max)]), from: c, nowMillis: 10)
        #expect(swim.members.incarnation(of: b) == 0 && swim.members.status(of: b) == .alive && !swim.members.contains(stranger))
        #expect((swim.rejections[.incarnationJump] ?? 0) >= 5)
        // Within the bound, a node's own earlier life is refuted from above.
        _ = swim.receive(ack([alive(a, 1_000)]), from: b, nowMillis: 20)
        #expect(swim.incarnation == 1_001)
    }

    @Test func profilesAndMembersAreBounded() throws {
        var settings = SWIMSettings()
        settings.maxMembers = 6
        settings.deadRetentionMillis = 5_000
        var swim = instance(a, settings: settings)
        let strangers = (70...75).map { testID(UInt8($0)) }
        _ = swim.receive(ack(strangers.map { alive($0) }), from: b, nowMillis: 10)
        #expect(swim.members.count == 6 && swim.rejections[.tableFull] == 5)
        let outsider = try NodeIdentity(seed: [UInt8](repeating: 99, count: 32))
        let profile = try SignedProfile(profile: sampleProfile(for: outsider.nodeID, version: 1), signer: outsider)
        #expect(swim.receive(SWIMMessage(kind: .ack(probe: 0), profiles: [profile]), from: b, nowMillis: 10).isEmpty)
        #expect(swim.profiles.isEmpty && swim.rejections[.profileOfNonMember] == 1)
        // Departed members are forgotten after the retention time, which makes room again.
        _ = swim.receive(ack([left(e, 1)]), from: e, nowMillis: 20)
        var harness = SWIMHarness(swim)
        harness.run(until: 200_000)
        #expect(!harness.swim.members.contains(e))
    }

    /// A stranger that pings often gets acks without gossip, so it cannot use up the sends
    /// each broadcast is allowed; and a member still holding an accusation this node already
    /// refuted gets the current alive record again.
    @Test func strangersCannotDrainGossipAndStaleAccusationsGetTheRefutationAgain() {
        var swim = instance(a)
        _ = swim.receive(ack([suspect(a, 0, by: b)]), from: b, nowMillis: 10)
        #expect(swim.incarnation == 1)
        for probe in 0..<20 {
            let replies = swim.receive(SWIMMessage(kind: .ping(probe: UInt32(probe))), from: stranger, nowMillis: 20).sends
            #expect(replies.count == 1 && replies[0].message.updates.isEmpty && replies[0].message.profiles.isEmpty)
        }
        // The refutation is still queued for the members.
        let toMember = swim.receive(SWIMMessage(kind: .ping(probe: 99)), from: c, nowMillis: 30).sends
        #expect(toMember.first?.message.updates.contains(alive(a, 1)) == true)
        // Drain it, then show a member the old accusation again: the alive record comes back.
        for probe in 0..<20 { _ = swim.receive(SWIMMessage(kind: .ping(probe: UInt32(probe))), from: d, nowMillis: 40) }
        #expect(swim.receive(SWIMMessage(kind: .ping(probe: 1)), from: d, nowMillis: 50).sends.first?.message.updates.isEmpty == true)
        let reply = swim.receive(SWIMMessage(kind: .ping(probe: 2), updates: [suspect(a, 0, by: b)]), from: b, nowMillis: 60).sends
        #expect(reply.first?.message.updates.contains(alive(a, 1)) == true)
        #expect(swim.incarnation == 1)
    }
}
