import TernSupport

/// SWIM membership with the Lifeguard extensions, as a pure state machine that trusts no
/// peer.
///
/// The instance never reads a clock, touches a socket or draws unseeded randomness: the
/// shell feeds it events (`tick(nowMillis:)` whenever `nextWakeupMillis` is reached,
/// `receive` for each verified message) and carries out the `SWIMDirective`s it returns.
/// The same code therefore runs under the UDP transport, in unit tests with hand-made time,
/// and ten thousand times over in the deterministic simulator. `nowMillis` is a monotonic
/// clock: wall time only stamps envelopes.
///
/// Protocol, per period (stretched by the local health multiplier, LHM):
/// 1. ping the next member of a randomised round-robin order;
/// 2. no ack within the probe timeout → ask k other members to ping it (ping-request); they
///    answer ack, or nack if the target stayed silent;
/// 3. no ack by the end of the period → accuse it (a suspect record signed by this node)
///    and gossip that. A suspect that hears of it refutes with a higher incarnation, in an
///    alive record only it can sign; otherwise each node declares it dead when its own
///    suspicion timeout expires — a timeout that shrinks with each distinct member that
///    accuses it too.
/// Records and hardware profiles ride on every message, each sent λ·log(n) times.
///
/// Trust (docs/protocol.md §6): only a node's own signature can add it, move it, raise its
/// incarnation or retire it; accusations count only from current members, one vote each,
/// and never kill by themselves: a member dies only by a suspicion timer running out here.
public struct SWIMInstance: Sendable {
    public let me: NodeID
    public let endpoint: String
    public let mesh: MeshID
    public let settings: SWIMSettings
    public private(set) var members: MemberTable
    public private(set) var incarnation: UInt64
    public private(set) var localHealth: LocalHealth
    public private(set) var profiles: [NodeID: SignedProfile] = [:]
    /// Records and profiles refused, by reason (bounded: one counter per reason).
    public private(set) var rejections: [RecordRejection: Int] = [:]

    private let signer: any EnvelopeSigner
    private var random: SplitMix64
    private var broadcasts: BroadcastQueue
    private var nextProbeAt: UInt64
    private var probeOrder = ProbeOrder()
    private var probe: OutstandingProbe?
    private var relays: [UInt32: Relay] = [:]
    private var suspicions: [NodeID: Suspicion] = [:]
    private var nextProbeID: UInt32 = 1
    private var periodsSincePushPull = 0
    private var periodsSinceDeadRetry = 0
    private var hasLeft = false

    /// An outstanding probe of `target` that this node started.
    private struct OutstandingProbe: Sendable {
        let id: UInt32
        let target: NodeID
        let startedAt: UInt64
        var deadline: UInt64
        var indirect = false
        /// Members asked to probe indirectly: only their acks and nacks count.
        var helpers: [NodeID] = []
        var nacks: [NodeID] = []
    }

    /// A ping this node sends to `target` on behalf of `origin` (which asked with a ping-request).
    private struct Relay: Sendable {
        let origin: NodeID
        let originProbe: UInt32
        let target: NodeID
        let deadline: UInt64
    }

    private struct Suspicion: Sendable {
        let startedAt: UInt64
        /// Distinct members whose signed suspect or dead records arrived (Lifeguard's
        /// independent confirmations; they shorten the timeout).
        var accusers: [NodeID]
        /// Distinct members whose own suspicion timer ran out (signed dead records).
        var deadVoters: [NodeID] = []
        var deadline: UInt64
    }

    /// Dead votes from this many distinct members declare a member dead at once. Fewer only
    /// count as suspicions, which the member has its whole timeout to refute: one hostile
    /// member (or a few) cannot kill anyone, while a real failure, seen by many, spreads as
    /// fast as the first timers run out.
    private var deadQuorum: Int { settings.deadQuorum }

    /// - Parameters:
    ///   - signer: this node's key; the node id is its public key.
    ///   - knownMembers: what this node already believes (empty for a first node). It is
    ///     told it is alive at `incarnation`, refuting whatever `knownMembers` says about it.
    ///   - seed: seeds every random choice this instance makes.
    public init(signer: some EnvelopeSigner, endpoint: String, mesh: MeshID = .open, settings: SWIMSettings = SWIMSettings(),
                knownMembers: MemberTable = MemberTable(), incarnation: UInt64 = 0, seed: UInt64, nowMillis: UInt64) {
        self.me = signer.nodeID
        self.signer = signer
        self.endpoint = endpoint
        self.mesh = mesh
        self.settings = settings
        self.members = knownMembers
        self.localHealth = LocalHealth(maximum: settings.maxLocalHealth)
        self.random = SplitMix64(seed: seed)
        self.broadcasts = BroadcastQueue(capacity: settings.maxQueuedBroadcasts)
        // Whatever the table says about this node must be superseded: an alive entry is
        // matched, any other state needs a higher incarnation to refute it.
        let me = signer.nodeID
        let known = knownMembers.incarnation(of: me).map { knownMembers.status(of: me) == .alive ? $0 : $0.incremented }
        self.incarnation = max(incarnation, known ?? 0)
        self.nextProbeAt = nowMillis &+ random.next() % max(settings.protocolPeriodMillis, 1)
        // Spread push-pulls over the interval so a group started together does not sync up.
        let pushPullPeriods = settings.pushPullPeriods(groupSize: knownMembers.liveCount)
        self.periodsSincePushPull = pushPullPeriods > 0 ? Int(random.next() % UInt64(pushPullPeriods)) : 0
        if knownMembers.status(of: me) != .alive || knownMembers.incarnation(of: me) != self.incarnation
            || knownMembers.endpoint(of: me) != endpoint {
            announceAlive(nowMillis: nowMillis)
        }
        // Suspicions inherited from the table run their course here too.
        for slot in members.statuses.indices where members.statuses[slot] == .suspect {
            let node = members.ids[slot]
            suspicions[node] = Suspicion(startedAt: nowMillis, accusers: members.verdict(of: node)?.accuser.map { [$0] } ?? [], deadline: 0)
            refreshDeadline(of: node)
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

    /// Full state for push-pull: the member records and the profiles of live members.
    public func snapshot() -> MembershipSnapshot {
        let live = profiles.values.filter { members.status(of: $0.nodeID)?.isLive == true }
        return MembershipSnapshot(members: members.records(), profiles: live.sorted { $0.nodeID < $1.nodeID })
    }

    // MARK: Events

    /// Advances timers to `nowMillis`: expires relays, probe phases and suspicions, prunes
    /// long-dead members, and starts the next probe when its period has come.
    public mutating func tick(nowMillis now: UInt64) -> [SWIMDirective] {
        var out: [SWIMDirective] = []
        guard !hasLeft else { return out }
        // Sorted, so that a run is reproducible from its seed (dictionary order is not).
        for id in relays.filter({ $0.value.deadline <= now }).keys.sorted() {
            guard let relay = relays.removeValue(forKey: id) else { continue }
            out.append(.send(message(.nack(probe: relay.originProbe)), to: relay.origin))
        }
        if let current = probe, current.deadline <= now {
            if current.indirect {
                finishFailedProbe(current, now: now, into: &out)
            } else {
                escalate(current, now: now, into: &out)
            }
        }
        for node in suspicions.filter({ $0.value.deadline <= now }).keys.sorted() {
            suspicions[node] = nil
            if let current = members.incarnation(of: node), members.status(of: node) == .suspect {
                let verdict = MembershipUpdate.dead(node, incarnation: current, accuser: signer, mesh: mesh)
                record(verdict, previous: .suspect, now: now, into: &out)
            }
        }
        if now >= nextProbeAt {
            pruneSettledMembers(now: now)
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
            out.append(.send(message(.ack(probe: id), to: sender), to: sender))
        case let .pingRequest(id, target):
            guard target != me, target != sender, members.status(of: sender)?.isLive == true,
                  members.status(of: target)?.isLive == true, relays.count < 64 else {
                out.append(.send(message(.nack(probe: id), to: sender), to: sender))
                break
            }
            let relayID = allocateProbeID()
            relays[relayID] = Relay(origin: sender, originProbe: id, target: target,
                                    deadline: now &+ settings.probeTimeoutMillis &* localHealth.multiplier)
            out.append(.send(message(.ping(probe: relayID), to: target), to: target))
        case let .ack(id):
            if let relay = relays[id], relay.target == sender {
                relays[id] = nil
                out.append(.send(message(.ack(probe: relay.originProbe)), to: relay.origin))
            } else if let current = probe, current.id == id, sender == current.target || current.helpers.contains(sender) {
                probe = nil
                localHealth.adjust(by: -1)
            }
        case let .nack(id):
            if let current = probe, current.id == id, current.helpers.contains(sender), !current.nacks.contains(sender) {
                probe?.nacks.append(sender)
            }
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

    /// Merges a peer's push-pull snapshot: each record is weighed exactly as if it had been
    /// gossiped (a dead record is one accuser's vote, never a death by itself).
    public mutating func merge(_ snapshot: MembershipSnapshot, from peer: NodeID, nowMillis now: UInt64) -> [SWIMDirective] {
        var out: [SWIMDirective] = []
        guard !hasLeft else { return out }
        for update in snapshot.members { apply(update, from: peer, now: now, into: &out) }
        for profile in snapshot.profiles { learn(profile, from: peer, into: &out) }
        return out
    }

    /// Announces a graceful departure; the instance is inert afterwards.
    public mutating func leave() -> [SWIMDirective] {
        guard !hasLeft, let next = incarnation.incremented(orNilAt: .max) else { return [] }
        incarnation = next
        hasLeft = true
        let departure = MembershipUpdate.left(incarnation: incarnation, signer: signer, mesh: mesh)
        members.set(departure, nowMillis: 0)
        broadcasts.enqueue(.membership(departure))
        var farewell: [SWIMDirective] = []
        var told: [NodeID] = [me]
        for _ in 0..<settings.indirectProbes {
            guard let peer = randomMember(where: { $0.isLive }, excluding: told) else { break }
            told.append(peer)
            farewell.append(.send(message(.ping(probe: allocateProbeID())), to: peer))
        }
        return farewell
    }

    // MARK: Probing

    private mutating func startProbe(now: UInt64, into out: inout [SWIMDirective]) {
        let multiplier = localHealth.multiplier
        nextProbeAt = now &+ settings.protocolPeriodMillis &* multiplier
        if settings.pushPullEveryPeriods > 0 {
            periodsSincePushPull += 1
            if periodsSincePushPull >= settings.pushPullPeriods(groupSize: members.liveCount),
               let peer = randomMember(where: { $0.isLive }, excluding: [me]) {
                periodsSincePushPull = 0
                out.append(.pushPull(with: peer, endpoint: members.endpoint(of: peer) ?? ""))
            }
        }
        if settings.deadRetryPeriods > 0 {
            periodsSinceDeadRetry += 1
            if periodsSinceDeadRetry >= settings.deadRetryPeriods {
                periodsSinceDeadRetry = 0
                if let peer = randomMember(where: { $0 == .dead }, excluding: [me]),
                   let endpoint = members.endpoint(of: peer), !endpoint.isEmpty {
                    out.append(.pushPull(with: peer, endpoint: endpoint))
                }
            }
        }
        guard let target = probeOrder.next(in: members, excluding: me, random: &random) else { return }
        let id = allocateProbeID()
        probe = OutstandingProbe(id: id, target: target, startedAt: now, deadline: now &+ settings.probeTimeoutMillis &* multiplier)
        out.append(.send(message(.ping(probe: id), to: target), to: target))
    }

    /// Direct probe timed out: ask k members to probe the target for us, and ping it once
    /// more directly (memberlist's fallback probe), so a single lost datagram is not enough
    /// to start a suspicion.
    private mutating func escalate(_ current: OutstandingProbe, now: UInt64, into out: inout [SWIMDirective]) {
        var escalated = current
        escalated.indirect = true
        escalated.deadline = max(now, current.startedAt &+ settings.protocolPeriodMillis &* localHealth.multiplier)
        var excluded: [NodeID] = [me, current.target]
        for _ in 0..<settings.indirectProbes {
            guard let helper = randomMember(where: { $0.isLive }, excluding: excluded) else { break }
            excluded.append(helper)
            escalated.helpers.append(helper)
            out.append(.send(message(.pingRequest(probe: current.id, target: current.target)), to: helper))
        }
        probe = escalated
        out.append(.send(message(.ping(probe: current.id), to: current.target), to: current.target))
    }

    /// Neither the direct nor any indirect probe got an ack: accuse the target. Missing
    /// nacks mean our own messages are being lost, so local health gets worse (Lifeguard).
    private mutating func finishFailedProbe(_ current: OutstandingProbe, now: UInt64, into out: inout [SWIMDirective]) {
        probe = nil
        localHealth.adjust(by: current.helpers.isEmpty ? 1 : current.helpers.count - current.nacks.count)
        guard members.status(of: current.target) == .alive, let targetIncarnation = members.incarnation(of: current.target) else { return }
        let accusation = MembershipUpdate.suspect(current.target, incarnation: targetIncarnation, accuser: signer, mesh: mesh)
        suspicions[current.target] = Suspicion(startedAt: now, accusers: [me], deadline: 0)
        record(accusation, previous: .alive, now: now, into: &out)
        refreshDeadline(of: current.target)
    }

    // MARK: Membership rules

    /// Weighs one record (docs/protocol.md §6). Cheap checks come first; a signature is
    /// verified only when the record would change something, so replays of known records
    /// cost no Ed25519 work.
    private mutating func apply(_ update: MembershipUpdate, from sender: NodeID, now: UInt64, into out: inout [SWIMDirective]) {
        if update.node == me {
            refuteIfNeeded(update, from: sender, into: &out)
            return
        }
        let previous = members.status(of: update.node)
        let known = members.incarnation(of: update.node) ?? 0
        switch update.status {
        case .alive:
            if previous != nil {
                guard update.incarnation > known else { return }
                guard update.incarnation - known <= settings.maxIncarnationJump else { return reject(.incarnationJump) }
            } else {
                guard update.incarnation <= UInt64.max - settings.maxIncarnationJump else { return reject(.incarnationJump) }
                guard members.count < settings.maxMembers else { return reject(.tableFull) }
            }
            guard GossipEndpoint.isValid(update.endpoint) else { return invalid(.badEndpoint, from: sender, into: &out) }
            guard isAuthentic(update) else { return invalid(.badSignature, from: sender, into: &out) }
            suspicions[update.node] = nil
            record(update, previous: previous, now: now, into: &out)
        case .suspect, .dead:
            guard let accuser = update.accuser, accuser != me, accuser != update.node,
                  let previous, previous.isLive, update.incarnation >= known else { return }
            guard members.status(of: accuser)?.isLive == true else { return reject(.accuserNotMember) }
            guard update.incarnation == known else { return reject(.futureIncarnation) }
            let isDeadVote = update.status == .dead
            if previous == .suspect, var suspicion = suspicions[update.node] {
                let newAccuser = !suspicion.accusers.contains(accuser) && suspicion.accusers.count <= settings.suspicionConfirmations
                let newDeadVote = isDeadVote && !suspicion.deadVoters.contains(accuser)
                guard newAccuser || newDeadVote else { return }
                guard isAuthentic(update) else { return invalid(.badSignature, from: sender, into: &out) }
                if newAccuser { suspicion.accusers.append(accuser) }
                if newDeadVote { suspicion.deadVoters.append(accuser) }
                suspicions[update.node] = suspicion
                broadcasts.enqueue(.membership(update))
                if suspicion.deadVoters.count >= deadQuorum {
                    suspicions[update.node] = nil
                    record(update, previous: .suspect, now: now, into: &out)
                } else {
                    refreshDeadline(of: update.node)
                }
                return
            }
            guard isAuthentic(update) else { return invalid(.badSignature, from: sender, into: &out) }
            suspicions[update.node] = Suspicion(startedAt: now, accusers: [accuser], deadVoters: isDeadVote ? [accuser] : [], deadline: 0)
            // A dead record is one accuser's vote: the member turns suspect here, and the
            // record is kept (and relayed) as signed.
            members.set(update, as: .suspect, nowMillis: now)
            broadcasts.enqueue(.membership(update))
            out.append(.memberChanged(change(update.node, previous: previous, status: .suspect)))
            refreshDeadline(of: update.node)
        case .left:
            guard let previous, update.incarnation >= known, previous != .left || update.incarnation > known else { return }
            guard update.incarnation - known <= settings.maxIncarnationJump else { return reject(.incarnationJump) }
            guard isAuthentic(update) else { return invalid(.badSignature, from: sender, into: &out) }
            suspicions[update.node] = nil
            record(update, previous: previous, now: now, into: &out)
        }
    }

    private mutating func record(_ update: MembershipUpdate, previous: MemberStatus?, now: UInt64, into out: inout [SWIMDirective]) {
        members.set(update, nowMillis: now)
        broadcasts.enqueue(.membership(update))
        if !update.status.isLive { profiles[update.node] = nil }
        if previous != update.status {
            out.append(.memberChanged(change(update.node, previous: previous, status: update.status)))
        }
    }

    private func change(_ node: NodeID, previous: MemberStatus?, status: MemberStatus) -> MemberChange {
        MemberChange(node: node, previous: previous, status: status, incarnation: members.incarnation(of: node) ?? 0,
                     endpoint: members.endpoint(of: node) ?? "")
    }

    private mutating func refreshDeadline(of node: NodeID) {
        guard var suspicion = suspicions[node] else { return }
        let timeout = settings.suspicionTimeoutMillis(groupSize: members.liveCount, confirmations: max(0, suspicion.accusers.count - 1))
        suspicion.deadline = suspicion.startedAt &+ timeout &* localHealth.multiplier
        suspicions[node] = suspicion
    }

    /// A record about this node. Only what this node's own key signed (an alive or left
    /// record from an earlier life, e.g. after a lost ledger) or an accusation by a member
    /// at its current incarnation makes it announce a higher incarnation. Having to refute
    /// is a sign of poor local health.
    private mutating func refuteIfNeeded(_ update: MembershipUpdate, from sender: NodeID, into out: inout [SWIMDirective]) {
        guard !hasLeft else { return }
        guard update.incarnation >= incarnation else {
            // An accusation this node has already refuted: the sender missed the refutation
            // (its sends may all have gone elsewhere), so gossip the current alive record
            // afresh rather than let the old suspicion run out.
            if update.status == .suspect || update.status == .dead, members.status(of: sender)?.isLive == true,
               let current = members.aliveRecord(of: me) {
                broadcasts.enqueue(.membership(current))
            }
            return
        }
        switch update.status {
        case .alive:
            guard update.incarnation > incarnation else { return }
        case .suspect, .dead:
            // Any known node may make this node refute, a dead one included: after a
            // partition heals, the other side's accusations are how each side learns it must
            // raise its incarnation to be believed alive again. Strangers are ignored.
            guard let accuser = update.accuser, accuser != me else { return }
            guard members.contains(accuser) else { return reject(.accuserNotMember) }
        case .left:
            break
        }
        guard update.incarnation - incarnation <= settings.maxIncarnationJump,
              let next = update.incarnation.incremented(orNilAt: UInt64.max) else { return reject(.incarnationJump) }
        guard isAuthentic(update) else { return invalid(.badSignature, from: sender, into: &out) }
        incarnation = next
        localHealth.adjust(by: 1)
        announceAlive(nowMillis: 0)
    }

    private mutating func announceAlive(nowMillis: UInt64) {
        let record = MembershipUpdate.alive(incarnation: incarnation, endpoint: endpoint, signer: signer, mesh: mesh)
        members.set(record, nowMillis: nowMillis)
        broadcasts.enqueue(.membership(record))
    }

    private mutating func learn(_ profile: SignedProfile, from sender: NodeID, into out: inout [SWIMDirective]) {
        guard profile.nodeID != me, profile.version > (profiles[profile.nodeID]?.version ?? 0) || profiles[profile.nodeID] == nil else { return }
        // Profiles are kept for live members only, so their number is bounded by the table.
        guard members.status(of: profile.nodeID)?.isLive == true else { return reject(.profileOfNonMember) }
        guard !settings.verifySignatures || profile.hasValidSignature else { return invalid(.badSignature, from: sender, into: &out) }
        profiles[profile.nodeID] = profile
        broadcasts.enqueue(.profile(profile))
        out.append(.profileLearned(profile))
    }

    private func isAuthentic(_ update: MembershipUpdate) -> Bool {
        !settings.verifySignatures || update.hasValidSignature(mesh: mesh)
    }

    private mutating func reject(_ reason: RecordRejection) {
        rejections[reason, default: 0] += 1
    }

    /// A record only a misbehaving relay forwards (honest relays check before they relay):
    /// counted, and reported so the shell can score the sender down.
    private mutating func invalid(_ reason: RecordRejection, from sender: NodeID, into out: inout [SWIMDirective]) {
        reject(reason)
        out.append(.invalidRecord(from: sender, reason: reason))
    }

    /// Forgets dead and departed members once they have been settled for the retention time,
    /// at most a few per period so the cost stays flat.
    private mutating func pruneSettledMembers(now: UInt64) {
        guard members.count > 0 else { return }
        for _ in 0..<4 {
            let slot = Int(random.next() % UInt64(members.count))
            guard !members.statuses[slot].isLive, now >= members.settledAt(slot: slot) &+ settings.deadRetentionMillis else { continue }
            let node = members.ids[slot]
            guard node != me else { continue }
            members.remove(node)
            profiles[node] = nil
            suspicions[node] = nil
            if members.count == 0 { return }
        }
    }

    // MARK: Helpers

    /// A message of `kind` with as many queued broadcasts as fit. To a member believed
    /// suspect or dead the accusation goes first, so it can refute at once (Lifeguard's buddy
    /// system, which also heals a partition); a message `to` anyone but a live member
    /// carries no other gossip.
    private mutating func message(_ kind: SWIMMessage.Kind, to target: NodeID? = nil) -> SWIMMessage {
        var outgoing = SWIMMessage(kind: kind)
        var budget = min(settings.maxPiggybackBytes, GossipEnvelope.maxBodyBytes - outgoing.headerSize)
        let targetStatus = target.flatMap { members.status(of: $0) }
        if let target, targetStatus == .suspect || targetStatus == .dead,
           let accusation = members.verdict(of: target), accusation.wireSize <= budget {
            outgoing.updates.append(accusation)
            budget -= accusation.wireSize
        }
        // Gossip rides only on messages to live members. Each broadcast is sent a limited
        // number of times, so a stranger (or a dead member) that pings this node often must
        // not be able to use those sends up, starving the members of news.
        if target != nil && targetStatus?.isLive != true { return outgoing }
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

    /// A uniformly chosen member whose status passes `wanted` and that is not in `excluded`,
    /// or nil if there is none. Tries random slots first (cheap in large groups), then falls
    /// back to a scan.
    private mutating func randomMember(where wanted: (MemberStatus) -> Bool, excluding excluded: [NodeID]) -> NodeID? {
        let count = members.count
        guard count > 0 else { return nil }
        for _ in 0..<32 {
            let slot = Int(random.next() % UInt64(count))
            let node = members.ids[slot]
            if wanted(members.statuses[slot]) && !excluded.contains(node) { return node }
        }
        let candidates = members.ids.indices.filter { wanted(members.statuses[$0]) && !excluded.contains(members.ids[$0]) }
        return candidates.randomElement(using: &random).map { members.ids[$0] }
    }
}

/// Why a record or profile was not taken (counted per reason; see `SWIMInstance.rejections`).
public enum RecordRejection: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The signature does not verify for the record's signer in this mesh.
    case badSignature
    /// The record would raise an incarnation by more than `maxIncarnationJump`.
    case incarnationJump
    /// An accusation by a node that is not a live member.
    case accuserNotMember
    /// An accusation at an incarnation the accused never announced here.
    case futureIncarnation
    /// An alive record whose endpoint is not a usable IP literal and port.
    case badEndpoint
    /// A new member while the table is full.
    case tableFull
    /// A profile of a node that is not a live member.
    case profileOfNonMember

    public var description: String { rawValue }
}

extension UInt64 {
    /// `self + 1`, or nil at `limit` (no wire value can make this trap).
    func incremented(orNilAt limit: UInt64) -> UInt64? { self >= limit ? nil : self + 1 }
    /// `self + 1`, saturating at the maximum.
    var incremented: UInt64 { self == .max ? .max : self + 1 }
}
