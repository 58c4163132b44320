/// SWIM membership with the Lifeguard extensions, as a pure state machine.
///
/// The instance never reads a clock, touches a socket or draws unseeded randomness: the
/// shell feeds it events (`tick(nowMillis:)` whenever `nextWakeupMillis` is reached,
/// `receive` for each verified message) and carries out the `SWIMDirective`s it returns.
/// The same code therefore runs under the UDP transport, in unit tests with hand-made time,
/// and ten thousand times over in the deterministic simulator.
///
/// Protocol, per period (stretched by the local health multiplier, LHM):
/// 1. ping the next member of a randomised round-robin order;
/// 2. no ack within the probe timeout → ask k other members to ping it (ping-request); they
///    answer ack, or nack if the target stayed silent;
/// 3. no ack by the end of the period → mark it suspect and gossip that. A suspect that
///    hears of it refutes with a higher incarnation; otherwise it is declared dead when the
///    suspicion timeout expires — a timeout that shrinks as independent suspicions arrive.
/// Membership updates and hardware profiles ride on every message, each sent λ·log(n) times.
public struct SWIMInstance: Sendable {
    public let me: NodeID
    public let endpoint: String
    public let settings: SWIMSettings
    public private(set) var members: MemberTable
    public private(set) var incarnation: UInt64
    public private(set) var localHealth: LocalHealth
    public private(set) var profiles: [NodeID: SignedProfile] = [:]

    private var random: SplitMix64
    private var broadcasts: BroadcastQueue
    private var nextProbeAt: UInt64
    private var probeOrder = ProbeOrder()
    private var probe: OutstandingProbe?
    private var relays: [UInt32: Relay] = [:]
    private var suspicions: [NodeID: Suspicion] = [:]
    private var nextProbeID: UInt32 = 1
    private var periodsSincePushPull = 0
    private var hasLeft = false

    /// An outstanding probe of `target` that this node started.
    private struct OutstandingProbe: Sendable {
        let id: UInt32
        let target: NodeID
        let startedAt: UInt64
        var deadline: UInt64
        var indirect = false
        var expectedNacks = 0
        var nacks = 0
    }

    /// A ping this node sends on behalf of `origin` (which asked with a ping-request).
    private struct Relay: Sendable {
        let origin: NodeID
        let originProbe: UInt32
        let deadline: UInt64
    }

    private struct Suspicion: Sendable {
        let startedAt: UInt64
        var confirmers: [NodeID]
        var deadline: UInt64
    }

    /// - Parameters:
    ///   - knownMembers: what this node already believes (empty for a first node; a peer's
    ///     table for a node that joined by push-pull). It is told it is alive at
    ///     `incarnation`, refuting whatever `knownMembers` says about it.
    ///   - seed: seeds every random choice this instance makes.
    public init(me: NodeID, endpoint: String, settings: SWIMSettings = SWIMSettings(), knownMembers: MemberTable = MemberTable(),
                incarnation: UInt64 = 0, seed: UInt64, nowMillis: UInt64) {
        self.me = me
        self.endpoint = endpoint
        self.settings = settings
        self.members = knownMembers
        self.localHealth = LocalHealth(maximum: settings.maxLocalHealth)
        self.random = SplitMix64(seed: seed)
        self.broadcasts = BroadcastQueue(capacity: settings.maxQueuedBroadcasts)
        // Whatever the table says about this node must be superseded: an alive entry is
        // matched, any other state needs a higher incarnation to refute it.
        let known = knownMembers.incarnation(of: me).map { knownMembers.status(of: me) == .alive ? $0 : $0 + 1 }
        self.incarnation = max(incarnation, known ?? 0)
        self.nextProbeAt = nowMillis + random.next() % settings.protocolPeriodMillis
        // Spread push-pulls over the interval so a group started together does not sync up.
        let pushPullPeriods = settings.pushPullPeriods(groupSize: knownMembers.liveCount)
        self.periodsSincePushPull = pushPullPeriods > 0 ? Int(random.next() % UInt64(pushPullPeriods)) : 0
        if knownMembers.status(of: me) != .alive || knownMembers.incarnation(of: me) != self.incarnation {
            members.set(me, status: .alive, incarnation: self.incarnation, endpoint: endpoint)
            broadcasts.enqueue(.membership(.alive(me, incarnation: self.incarnation, endpoint: endpoint)))
        }
        // Suspicions inherited from the table run their course here too.
        for slot in members.statuses.indices where members.statuses[slot] == .suspect {
            suspicions[members.ids[slot]] = Suspicion(startedAt: nowMillis, confirmers: [me], deadline: 0)
            refreshDeadline(of: members.ids[slot])
        }
    }

    // MARK: Queries

    /// When the shell must call `tick` next (it may call it earlier).
    public var nextWakeupMillis: UInt64 {
        var wake = nextProbeAt
        if let probe { wake = min(wake, probe.deadline) }
        for relay in relays.values { wake = min(wake, relay.deadline) }
        for suspicion in suspicions.values { wake = min(wake, suspicion.deadline) }
        return wake
    }

    /// Members currently believed alive or suspect, this node included.
    public var groupSize: Int { members.liveCount }

    public var pendingBroadcasts: Int { broadcasts.count }

    /// Full state for push-pull.
    public func snapshot() -> MembershipSnapshot {
        MembershipSnapshot(members: members.updates(reportedBy: me), profiles: profiles.values.sorted { $0.nodeID < $1.nodeID })
    }

    // MARK: Events

    /// Advances timers to `nowMillis`: expires relays, probe phases and suspicions, and
    /// starts the next probe when its period has come.
    public mutating func tick(nowMillis now: UInt64) -> [SWIMDirective] {
        var out: [SWIMDirective] = []
        guard !hasLeft else { return out }
        for (id, relay) in relays where relay.deadline <= now {
            relays[id] = nil
            out.append(.send(message(.nack(probe: relay.originProbe)), to: relay.origin))
        }
        if let current = probe, current.deadline <= now {
            if current.indirect {
                finishFailedProbe(current, now: now, into: &out)
            } else {
                escalate(current, now: now, into: &out)
            }
        }
        for (node, suspicion) in suspicions where suspicion.deadline <= now {
            suspicions[node] = nil
            if let current = members.incarnation(of: node), members.status(of: node) == .suspect {
                apply(.dead(node, incarnation: current), from: me, now: now, into: &out)
            }
        }
        if now >= nextProbeAt {
            startProbe(now: now, into: &out)
        }
        return out
    }

    /// Handles a verified message from `sender`.
    public mutating func receive(_ incoming: SWIMMessage, from sender: NodeID, nowMillis now: UInt64) -> [SWIMDirective] {
        var out: [SWIMDirective] = []
        guard !hasLeft else { return out }
        for update in incoming.updates { apply(update, from: sender, now: now, into: &out) }
        for profile in incoming.profiles { learn(profile, from: sender, into: &out) }
        switch incoming.kind {
        case let .ping(id):
            out.append(.send(message(.ack(probe: id)), to: sender))
        case let .pingRequest(id, target):
            guard target != me, members.status(of: target)?.isLive == true, relays.count < 64 else {
                out.append(.send(message(.nack(probe: id)), to: sender))
                break
            }
            let relayID = allocateProbeID()
            relays[relayID] = Relay(origin: sender, originProbe: id, deadline: now + settings.probeTimeoutMillis * localHealth.multiplier)
            out.append(.send(message(.ping(probe: relayID), to: target), to: target))
        case let .ack(id):
            if let relay = relays.removeValue(forKey: id) {
                out.append(.send(message(.ack(probe: relay.originProbe)), to: relay.origin))
            } else if let current = probe, current.id == id {
                probe = nil
                localHealth.adjust(by: -1)
            }
        case let .nack(id):
            if probe?.id == id { probe?.nacks += 1 }
        }
        return out
    }

    /// Publishes this node's (newer) hardware profile.
    public mutating func publish(_ profile: SignedProfile) -> [SWIMDirective] {
        guard profile.nodeID == me, profile.version > (profiles[me]?.version ?? 0) || profiles[me] == nil else { return [] }
        profiles[me] = profile
        broadcasts.enqueue(.profile(profile))
        return [.profileLearned(profile)]
    }

    /// Merges a peer's push-pull snapshot. Dead entries count only as suspicions by `peer`
    /// (memberlist's rule): a full-state transfer must not kill a member outright.
    public mutating func merge(_ snapshot: MembershipSnapshot, from peer: NodeID, nowMillis now: UInt64) -> [SWIMDirective] {
        var out: [SWIMDirective] = []
        for update in snapshot.members {
            let softened = update.status == .dead ? MembershipUpdate.suspect(update.node, incarnation: update.incarnation, by: peer) : update
            apply(softened, from: peer, now: now, into: &out)
        }
        for profile in snapshot.profiles { learn(profile, from: peer, into: &out) }
        return out
    }

    /// Announces a graceful departure; the instance is inert afterwards.
    public mutating func leave() -> [SWIMDirective] {
        guard !hasLeft else { return [] }
        incarnation += 1
        hasLeft = true
        members.set(me, status: .left, incarnation: incarnation, endpoint: endpoint)
        broadcasts.enqueue(.membership(.left(me, incarnation: incarnation)))
        var farewell: [SWIMDirective] = []
        var told: [NodeID] = [me]
        for _ in 0..<settings.indirectProbes {
            guard let peer = randomLiveMember(excluding: told) else { break }
            told.append(peer)
            farewell.append(.send(message(.ping(probe: allocateProbeID())), to: peer))
        }
        return farewell
    }

    // MARK: Probing

    private mutating func startProbe(now: UInt64, into out: inout [SWIMDirective]) {
        let multiplier = localHealth.multiplier
        nextProbeAt = now + settings.protocolPeriodMillis * multiplier
        if settings.pushPullEveryPeriods > 0 {
            periodsSincePushPull += 1
            if periodsSincePushPull >= settings.pushPullPeriods(groupSize: members.liveCount), let peer = randomLiveMember(excluding: [me]) {
                periodsSincePushPull = 0
                out.append(.pushPull(with: peer, endpoint: members.endpoint(of: peer) ?? ""))
            }
        }
        guard let target = probeOrder.next(in: members, excluding: me, random: &random) else { return }
        let id = allocateProbeID()
        probe = OutstandingProbe(id: id, target: target, startedAt: now, deadline: now + settings.probeTimeoutMillis * multiplier)
        out.append(.send(message(.ping(probe: id), to: target), to: target))
    }

    /// Direct probe timed out: ask k members to probe the target for us, and ping it once
    /// more directly (memberlist's fallback probe), so a single lost datagram is not enough
    /// to start a suspicion.
    private mutating func escalate(_ current: OutstandingProbe, now: UInt64, into out: inout [SWIMDirective]) {
        var escalated = current
        escalated.indirect = true
        escalated.deadline = max(now, current.startedAt + settings.protocolPeriodMillis * localHealth.multiplier)
        var helpers: [NodeID] = [me, current.target]
        for _ in 0..<settings.indirectProbes {
            guard let helper = randomLiveMember(excluding: helpers) else { break }
            helpers.append(helper)
            out.append(.send(message(.pingRequest(probe: current.id, target: current.target)), to: helper))
        }
        escalated.expectedNacks = helpers.count - 2
        probe = escalated
        out.append(.send(message(.ping(probe: current.id), to: current.target), to: current.target))
    }

    /// Neither the direct nor any indirect probe got an ack: suspect the target. Missing
    /// nacks mean our own messages are being lost, so local health gets worse (Lifeguard).
    private mutating func finishFailedProbe(_ current: OutstandingProbe, now: UInt64, into out: inout [SWIMDirective]) {
        probe = nil
        localHealth.adjust(by: current.expectedNacks > 0 ? max(0, current.expectedNacks - current.nacks) : 1)
        guard members.status(of: current.target) == .alive, let targetIncarnation = members.incarnation(of: current.target) else { return }
        apply(.suspect(current.target, incarnation: targetIncarnation, by: me), from: me, now: now, into: &out)
    }

    // MARK: Membership rules

    /// Applies one membership fact with SWIM's precedence: a higher incarnation wins; at
    /// equal incarnation dead/left beat suspect beats alive. Facts about this node are
    /// refuted by raising its incarnation.
    private mutating func apply(_ update: MembershipUpdate, from sender: NodeID, now: UInt64, into out: inout [SWIMDirective]) {
        if update.node == me {
            refuteIfNeeded(update, into: &out)
            return
        }
        let previous = members.status(of: update.node)
        let known = members.incarnation(of: update.node) ?? 0
        switch update.status {
        case .alive:
            guard previous == nil || update.incarnation > known else { return }
            suspicions[update.node] = nil
            record(update, previous: previous, into: &out)
        case .suspect:
            guard let previous, previous.isLive, update.incarnation >= known, let suspecter = update.suspecter else { return }
            if previous == .suspect, update.incarnation == known {
                confirmSuspicion(of: update, by: suspecter, now: now)
                return
            }
            suspicions[update.node] = Suspicion(startedAt: now, confirmers: [suspecter], deadline: 0)
            refreshDeadline(of: update.node)
            record(update, previous: previous, into: &out)
        case .dead, .left:
            guard let previous, previous.isLive || (previous == .dead && update.status == .left && update.incarnation > known),
                  update.incarnation >= known else { return }
            suspicions[update.node] = nil
            record(update, previous: previous, into: &out)
        }
    }

    private mutating func record(_ update: MembershipUpdate, previous: MemberStatus?, into out: inout [SWIMDirective]) {
        members.set(update.node, status: update.status, incarnation: update.incarnation, endpoint: update.endpoint)
        broadcasts.enqueue(.membership(update))
        if previous != update.status {
            out.append(.memberChanged(MemberChange(node: update.node, previous: previous, status: update.status,
                                                   incarnation: update.incarnation,
                                                   endpoint: members.endpoint(of: update.node) ?? "")))
        }
    }

    /// An independent suspicion of an already-suspect member shortens its timeout and is
    /// passed on, so others count it too.
    private mutating func confirmSuspicion(of update: MembershipUpdate, by suspecter: NodeID, now: UInt64) {
        guard var suspicion = suspicions[update.node], !suspicion.confirmers.contains(suspecter),
              suspicion.confirmers.count <= settings.suspicionConfirmations else { return }
        suspicion.confirmers.append(suspecter)
        suspicions[update.node] = suspicion
        refreshDeadline(of: update.node)
        broadcasts.enqueue(.membership(update))
    }

    private mutating func refreshDeadline(of node: NodeID) {
        guard var suspicion = suspicions[node] else { return }
        let timeout = settings.suspicionTimeoutMillis(groupSize: members.liveCount, confirmations: suspicion.confirmers.count - 1)
        suspicion.deadline = suspicion.startedAt + timeout * localHealth.multiplier
        suspicions[node] = suspicion
    }

    /// Someone says this node is suspect or dead (or claims a newer incarnation of it):
    /// announce a higher incarnation. Having to do so is a sign of poor local health.
    private mutating func refuteIfNeeded(_ update: MembershipUpdate, into out: inout [SWIMDirective]) {
        guard !hasLeft, update.incarnation >= incarnation, update.status != .alive || update.incarnation > incarnation else { return }
        incarnation = update.incarnation + 1
        localHealth.adjust(by: 1)
        members.set(me, status: .alive, incarnation: incarnation, endpoint: endpoint)
        broadcasts.enqueue(.membership(.alive(me, incarnation: incarnation, endpoint: endpoint)))
    }

    private mutating func learn(_ profile: SignedProfile, from sender: NodeID, into out: inout [SWIMDirective]) {
        guard profile.nodeID != me, profile.version > (profiles[profile.nodeID]?.version ?? 0) || profiles[profile.nodeID] == nil else { return }
        guard !settings.verifyProfileSignatures || profile.hasValidSignature else {
            out.append(.invalidRecord(from: sender, reason: "hardware profile of \(profile.nodeID) has a bad signature"))
            return
        }
        profiles[profile.nodeID] = profile
        broadcasts.enqueue(.profile(profile))
        out.append(.profileLearned(profile))
    }

    // MARK: Helpers

    /// A message of `kind` with as many queued broadcasts as fit. When pinging a suspect
    /// the suspicion goes first, so the target can refute it at once (Lifeguard's buddy system).
    private mutating func message(_ kind: SWIMMessage.Kind, to target: NodeID? = nil) -> SWIMMessage {
        var outgoing = SWIMMessage(kind: kind)
        var budget = min(settings.maxPiggybackBytes, GossipEnvelope.maxBodyBytes - outgoing.headerSize)
        if let target, members.status(of: target) == .suspect, let known = members.incarnation(of: target) {
            let buddy = MembershipUpdate.suspect(target, incarnation: known, by: me)
            outgoing.updates.append(buddy)
            budget -= buddy.wireSize
        }
        for broadcast in broadcasts.take(budget: budget, limit: settings.retransmitLimit(groupSize: members.liveCount)) {
            switch broadcast {
            case let .membership(update): outgoing.updates.append(update)
            case let .profile(profile): outgoing.profiles.append(profile)
            }
        }
        return outgoing
    }

    private mutating func allocateProbeID() -> UInt32 {
        defer { nextProbeID &+= 1 }
        return nextProbeID
    }

    /// A uniformly chosen live member not in `excluded`, or nil if there is none. Tries
    /// random slots first (cheap in large groups), then falls back to a scan.
    private mutating func randomLiveMember(excluding excluded: [NodeID]) -> NodeID? {
        let count = members.count
        guard count > 0 else { return nil }
        for _ in 0..<32 {
            let slot = Int(random.next() % UInt64(count))
            let node = members.ids[slot]
            if members.statuses[slot].isLive && !excluded.contains(node) { return node }
        }
        let candidates = members.ids.indices.filter { members.statuses[$0].isLive && !excluded.contains(members.ids[$0]) }
        return candidates.randomElement(using: &random).map { members.ids[$0] }
    }
}
