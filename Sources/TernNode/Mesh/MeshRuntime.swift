import Foundation
import Logging
import NIOCore
import TernLedger
import TernKernels
import TernMesh

/// The thin shell around the pure `SWIMInstance`: it owns the sockets, the clocks and the
/// ledger writer, feeds the instance events (datagrams, timer ticks, push-pull snapshots)
/// and carries out the directives it returns. All protocol decisions stay in TernMesh.
///
/// Nothing here blocks the actor: gossiped endpoints are IP literals (no DNS), ledger writes
/// go to a batching writer on its own queue, and sequence numbers come from a counter that
/// touches the disk once per 65,536 datagrams.
public actor MeshRuntime {
    public let identity: NodeIdentity
    public let configuration: NodeConfiguration
    public let mesh: MeshID
    let ledger: Ledger
    let logger: Logger
    /// Milliseconds since the Unix epoch: stamps envelopes (peers compare it with theirs).
    let wallClock: @Sendable () -> UInt64
    /// Milliseconds on a clock that never steps: drives SWIM's timers.
    let monotonicClock: @Sendable () -> UInt64
    let startedAt = Date()

    private var swim: SWIMInstance
    private var inbox: GossipInbox
    private var sequence: SequenceCounter
    private let batcher: LedgerBatcher
    private var persistedIncarnation: UInt64
    private var udp: UDPChannel?
    private var listener: SecureListener?
    private var lastHeard = LRUTable<NodeID, Date>(capacity: 65_536)
    private var dropped: [String: Int] = [:]
    private var pushPullsInFlight = 0
    /// Serves the task plane's stream protocols (`task/1`, `blob/1`) on the same listener.
    private var streamHandler: (protocols: Set<String>, handle: @Sendable (SecureConnection) async -> Void)?
    /// The stream protocol of push-pull anti-entropy (docs/protocol.md §9).
    static let pushPullProtocol = "pushpull/1"

    /// - Parameters:
    ///   - directory: the data directory (the sequence counter lives there).
    public init(identity: NodeIdentity, ledger: Ledger, configuration: NodeConfiguration, directory: URL, logger: Logger,
                wallClock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) },
                monotonicClock: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds / 1_000_000 }) throws {
        self.identity = identity
        self.ledger = ledger
        self.configuration = configuration
        self.logger = logger
        self.wallClock = wallClock
        self.monotonicClock = monotonicClock
        mesh = try configuration.meshID()
        let endpoint = try configuration.gossipEndpoint()
        // A restarted node comes back with a higher incarnation than any it used before, so
        // its "alive" overrides whatever its peers hold about it.
        let previous = try ledger.peer(nodeID: identity.nodeID.hex)?.incarnation
        let incarnation = previous.map { UInt64(max(0, $0)) + 1 } ?? 0
        var settings = SWIMSettings()
        settings.protocolPeriodMillis = configuration.protocolPeriodMillis
        settings.probeTimeoutMillis = max(configuration.protocolPeriodMillis / 2, 50)
        // memberlist's LAN multiplier (4) and a suspicion that can stretch to 3× that when
        // no one confirms it: a dead peer in a small mesh is declared within ~12 periods,
        // while Lifeguard's local-health multiplier still protects an overloaded node.
        settings.suspicionAlpha = 4
        settings.suspicionBeta = 3
        swim = SWIMInstance(signer: identity, endpoint: endpoint, mesh: mesh, settings: settings,
                            incarnation: incarnation, seed: UInt64.random(in: .min ... .max), nowMillis: monotonicClock())
        inbox = GossipInbox(verifier: EnvelopeVerifier(mesh: mesh))
        sequence = try SequenceCounter(directory: directory)
        batcher = LedgerBatcher(ledger: ledger, logger: logger)
        persistedIncarnation = incarnation
        try ledger.apply([.selfRow(Self.selfRow(identity: identity, endpoint: endpoint, incarnation: incarnation, at: Date()))])
    }

    // MARK: Running

    /// Hands every authenticated stream opened with one of `protocols` to `handle`. Call
    /// before `bind()`.
    public func serveStreams(_ protocols: Set<String>, with handle: @escaping @Sendable (SecureConnection) async -> Void) {
        streamHandler = (protocols, handle)
    }

    /// Binds the gossip (UDP) and push-pull (TCP) sockets on the listen address.
    public func bind() async throws {
        let listen = configuration.listen
        do {
            udp = try await UDPChannel.bind(host: listen.host, port: listen.port)
            let log = logger
            listener = try await SecureListener.bind(
                host: listen.host, port: listen.port, identity: identity.transportIdentity(in: mesh),
                requirement: .allowedBy { _ in true },
                protocols: Set([Self.pushPullProtocol]).union(streamHandler?.protocols ?? []),
                onRejected: { remote, reason in
                    log.debug("refused push-pull connection", metadata: ["from": "\(remote.map { "\($0)" } ?? "?")", "reason": "\(reason)"])
                })
        } catch {
            throw NodeError.startup("cannot listen on \(listen): \(error)")
        }
    }

    /// Publishes this node's profile and runs the protocol until the task is cancelled;
    /// then announces a graceful leave.
    public func run(profile: HardwareProfile) async throws {
        guard let udp, let listener else { throw NodeError.startup("run() before bind()") }
        try await publish(profile)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await datagram in udp.datagrams { await self.receive(datagram) } }
            let streams = streamHandler
            group.addTask {
                for await connection in listener.connections {
                    if connection.protocolID == Self.pushPullProtocol {
                        Task { await self.answerPushPull(connection) }
                    } else if let streams {
                        Task { await streams.handle(connection) }
                    } else {
                        Task { await connection.close() }
                    }
                }
            }
            group.addTask { await self.timerLoop() }
            group.addTask { await self.joinLoop() }
            // Until shutdown cancels this task; then stop the loops above.
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            group.cancelAll()
        }
        await leave()
    }

    /// Signs and gossips a (newer) profile of this node.
    public func publish(_ profile: HardwareProfile) async throws {
        await execute(swim.publish(try SignedProfile(profile: profile, signer: identity)))
    }

    private func timerLoop() async {
        while !Task.isCancelled {
            let now = monotonicClock()
            let wake = swim.nextWakeupMillis
            let wait = wake > now ? min(wake - now, 250) : 0
            try? await Task.sleep(for: .milliseconds(max(wait, 5)))
            await execute(swim.tick(nowMillis: monotonicClock()))
        }
    }

    /// Joins through the bootstrap peers (and, after a restart, the peers the ledger
    /// remembers) whenever this node knows no other live member: at start, and again after
    /// a partition that left it alone. Bootstrap host names are the operator's own and are
    /// resolved here, once per attempt, off the actor's hot path.
    private func joinLoop() async {
        var delay = 1.0
        while !Task.isCancelled {
            if swim.groupSize > 1 {
                delay = 1
                try? await Task.sleep(for: .seconds(2))
                continue
            }
            var candidates = configuration.bootstrap.filter { $0.address != configuration.listen }
            let remembered = (try? ledger.peerListing()) ?? []
            for listing in remembered where listing.peer.nodeID != identity.nodeID.hex {
                if let address = try? HostPort(parsing: listing.peer.address),
                   let id = Hex.decode(listing.peer.nodeID).flatMap(NodeID.init(bytes:)),
                   !candidates.contains(where: { $0.address == address }) {
                    candidates.append(BootstrapPeer(address: address, nodeID: id))
                }
            }
            for candidate in candidates {
                do {
                    try await pushPull(with: candidate.address, requirement: requirement(for: candidate.nodeID))
                    logger.info("joined the mesh", metadata: ["through": "\(candidate)", "members": "\(swim.groupSize)"])
                    break
                } catch {
                    logger.debug("join attempt failed", metadata: ["through": "\(candidate)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .seconds(delay))
            delay = min(delay * 2, 10)
        }
    }

    private nonisolated func requirement(for pinned: NodeID?) -> PeerRequirement {
        pinned.map { .exactly($0.bytes) } ?? .allowedBy { _ in true }
    }

    /// Asks the running node to join through `peer` (the `mesh join` command).
    public func join(through peer: BootstrapPeer) async throws -> Int {
        try await pushPull(with: peer.address, requirement: requirement(for: peer.nodeID))
        return swim.groupSize
    }

    private func leave() async {
        await execute(swim.leave())
        await batcher.flush()
        await udp?.close()
        await listener?.close()
    }

    // MARK: Events

    private func receive(_ datagram: ReceivedDatagram) async {
        let source = datagram.sender.ipAddress ?? "?"
        switch inbox.accept(datagram.bytes, source: source, nowMillis: wallClock()) {
        case let .deliver(message, sender):
            lastHeard.set(sender, Date())
            await execute(swim.receive(message, from: sender, nowMillis: monotonicClock()), replyAddress: (sender, datagram.sender))
        case let .dropped(drop):
            count(drop.reason)
            logger.trace("dropped datagram", metadata: ["reason": "\(drop.reason)", "from": "\(datagram.sender)"])
        }
    }

    private func count(_ reason: String) {
        dropped[reason, default: 0] += 1
    }

    /// Answers a peer's push-pull: its snapshot fragments in, ours out.
    private func answerPushPull(_ connection: SecureConnection) async {
        defer { Task { await connection.close() } }
        guard let peer = NodeID(bytes: connection.peerIdentity) else { return }
        guard inbox.scores.score(of: peer, nowMillis: wallClock()) > inbox.scores.settings.graylistThreshold else {
            return count("graylisted")
        }
        guard pushPullsInFlight < 16 else { return count("pushPullBusy") }
        pushPullsInFlight += 1
        defer { pushPullsInFlight -= 1 }
        do {
            // Merge first: a refutation their snapshot provokes (after a partition) travels
            // back in our reply at once.
            let theirs = try await receiveSnapshot(on: connection)
            await merge(theirs, from: peer)
            try await sendSnapshot(on: connection)
        } catch {
            inbox.reportInvalid(from: peer, nowMillis: wallClock())
            count("badPushPull")
            logger.notice("bad push-pull", metadata: ["from": "\(peer)", "error": "\(error)"])
        }
    }

    private func pushPull(with address: HostPort, requirement: PeerRequirement) async throws {
        let connection = try await SecureConnection.connect(
            host: address.host, port: address.port, identity: identity.transportIdentity(in: mesh),
            requirement: requirement, protocolID: Self.pushPullProtocol, handshakeTimeout: .seconds(5))
        defer { Task { await connection.close() } }
        guard let peer = NodeID(bytes: connection.peerIdentity), peer != identity.nodeID else {
            throw NodeError.startup("\(address) is this node itself")
        }
        try await sendSnapshot(on: connection)
        let theirs = try await receiveSnapshot(on: connection)
        await merge(theirs, from: peer)
    }

    /// Our snapshot as fragments, then an empty frame that ends it.
    private func sendSnapshot(on connection: SecureConnection) async throws {
        for fragment in swim.snapshot().fragments() { try await connection.send(fragment) }
        try await connection.send([])
    }

    /// A peer's snapshot, fragment by fragment, until its empty end frame. Entries that do
    /// not parse are skipped (and counted); broken framing or too many fragments throw.
    private func receiveSnapshot(on connection: SecureConnection) async throws -> [MembershipSnapshot] {
        var fragments: [MembershipSnapshot] = []
        while true {
            guard let frame = try await connection.receive() else { throw TransportError.connectionClosed }
            if frame.isEmpty { return fragments }
            guard fragments.count < WireLimits.maxSnapshotFragments else {
                throw WireError.tooLong(field: "snapshot fragments", length: fragments.count + 1, limit: WireLimits.maxSnapshotFragments)
            }
            let fragment = try MembershipSnapshot.decodeFragment(frame)
            if fragment.skippedEntries > 0 { dropped["snapshotEntry", default: 0] += fragment.skippedEntries }
            fragments.append(fragment.snapshot)
        }
    }

    private func merge(_ fragments: [MembershipSnapshot], from peer: NodeID) async {
        for fragment in fragments { await execute(swim.merge(fragment, from: peer, nowMillis: monotonicClock())) }
    }

    // MARK: Directives

    /// Carries out directives. `replyAddress` is where a datagram from a not-yet-known
    /// member came from, so an ack can reach it before its endpoint is gossiped.
    private func execute(_ directives: [SWIMDirective], replyAddress: (NodeID, SocketAddress)? = nil) async {
        let wallNow = wallClock()
        var outgoing: [([UInt8], SocketAddress)] = []
        for directive in directives {
            switch directive {
            case let .send(message, to):
                guard let address = address(of: to) ?? (replyAddress?.0 == to ? replyAddress?.1 : nil) else { continue }
                do {
                    let packet = GossipEnvelope.seal(body: message.encoded(), sequence: try sequence.take(),
                                                     timestampMillis: wallNow, signer: identity, mesh: mesh)
                    outgoing.append((packet, address))
                } catch {
                    logger.error("cannot send gossip", metadata: ["error": "\(error)"])
                }
            case let .memberChanged(change):
                record(change, wallNow: wallNow)
            case let .profileLearned(profile):
                batcher.enqueue(.profile(ProfileBuilder.record(of: profile, receivedAt: Date())))
            case let .pushPull(peer, endpoint):
                guard let parsed = GossipEndpoint.parse(endpoint) else { continue }
                let address = HostPort(host: parsed.host, port: parsed.port)
                Task { try? await self.pushPull(with: address, requirement: .exactly(peer.bytes)) }
            case let .invalidRecord(from, reason):
                inbox.reportInvalid(from: from, nowMillis: wallNow)
                logger.notice("invalid gossip record", metadata: ["from": "\(from)", "reason": "\(reason)"])
            }
        }
        if swim.incarnation != persistedIncarnation {
            persistedIncarnation = swim.incarnation
            batcher.enqueue(.selfRow(Self.selfRow(identity: identity, endpoint: swim.endpoint, incarnation: swim.incarnation, at: Date())))
        }
        guard let udp else { return }
        for (packet, address) in outgoing {
            try? await udp.send(packet, to: address)
        }
    }

    private func record(_ change: MemberChange, wallNow: UInt64) {
        guard change.node != identity.nodeID else { return }
        logger.info("member \(change.status)", metadata: [
            "node": "\(change.node)", "incarnation": "\(change.incarnation)", "endpoint": "\(change.endpoint)"])
        batcher.enqueue(.memberChanged(
            nodeID: change.node.hex, fingerprint: change.node.fingerprint, address: change.endpoint,
            from: change.previous.flatMap { PeerState(rawValue: $0.description) },
            to: PeerState(rawValue: change.status.description) ?? .dead,
            incarnation: Int64(clamping: change.incarnation),
            score: inbox.scores.score(of: change.node, nowMillis: wallNow),
            at: Date(timeIntervalSince1970: Double(wallNow) / 1000)))
    }

    private static func selfRow(identity: NodeIdentity, endpoint: String, incarnation: UInt64, at: Date) -> PeerRecord {
        PeerRecord(nodeID: identity.nodeID.hex, address: endpoint, fingerprint: identity.nodeID.fingerprint,
                   firstSeen: at, lastSeen: at, state: .alive, incarnation: Int64(clamping: incarnation))
    }

    /// Where to send datagrams for `node`: its gossiped endpoint, an IP literal (parsed, never
    /// resolved).
    private func address(of node: NodeID) -> SocketAddress? {
        guard let endpoint = swim.members.endpoint(of: node), let parsed = GossipEndpoint.parse(endpoint) else { return nil }
        return try? SocketAddress(ipAddress: parsed.host, port: parsed.port)
    }

    // MARK: Peers for the task plane

    /// Where `node`'s streams are served: its gossiped endpoint (gossip and streams share the
    /// port), nil for a node not known or not alive.
    public func streamAddress(of node: NodeID) -> HostPort? {
        guard let status = swim.members.status(of: node), status.isLive,
              let endpoint = swim.members.endpoint(of: node), let parsed = GossipEndpoint.parse(endpoint) else { return nil }
        return HostPort(host: parsed.host, port: parsed.port)
    }

    /// Live members other than this node.
    public func liveMembers() -> [NodeID] {
        swim.members.ids.filter { $0 != identity.nodeID && swim.members.status(of: $0)?.isLive == true }
    }

    /// A peer that sent bad data on a stream (a corrupt chunk, a forged receipt) loses score,
    /// like one that sends invalid gossip. The caller counts the reason.
    public func reportMisbehaviour(of peer: NodeID) {
        inbox.reportInvalid(from: peer, nowMillis: wallClock())
    }

    /// Below the graylist threshold: refuse its streams.
    public func isGraylisted(_ peer: NodeID) -> Bool {
        inbox.scores.score(of: peer, nowMillis: wallClock()) <= inbox.scores.settings.graylistThreshold
    }

    /// Waits until queued ledger writes are on disk (tests, shutdown).
    public func flushLedger() async { await batcher.flush() }

    // MARK: Queries for the control API

    /// Every rejection since start, by reason: datagrams (envelope checks, rate limits),
    /// records and profiles the protocol refused, bad push-pulls.
    public func droppedCounts() -> [String: Int] {
        var all = dropped
        if let oversize = udp?.oversizeDropped, oversize > 0 { all[DropReason.oversize.rawValue, default: 0] += oversize }
        for (reason, count) in swim.rejections { all["record." + reason.rawValue, default: 0] += count }
        for (reason, count) in listener?.rejectionCounts() ?? [:] where count > 0 { all["tcp." + reason, default: 0] += count }
        return all
    }

    public func status(dataDirectory: String) -> NodeStatusReply {
        let counts = swim.members.statusCounts(excluding: identity.nodeID)
        return NodeStatusReply(
            nodeID: identity.nodeID.hex, fingerprint: identity.nodeID.fingerprint, version: TernVersion.string,
            gossipAddress: swim.endpoint, incarnation: swim.incarnation,
            membersAlive: counts[.alive, default: 0], membersSuspect: counts[.suspect, default: 0],
            membersDead: counts[.dead, default: 0] + counts[.left, default: 0],
            uptimeSeconds: Date().timeIntervalSince(startedAt), dataDirectory: dataDirectory,
            dropped: droppedCounts())
    }

    public func peers() throws -> [PeerRow] {
        try ledger.peerListing().compactMap { listing in
            let peer = listing.peer
            guard peer.nodeID != identity.nodeID.hex else { return nil }
            let id = Hex.decode(peer.nodeID).flatMap(NodeID.init(bytes:))
            let heard = id.flatMap { lastHeard.peek($0) }
            let profile = listing.profile
            return PeerRow(
                nodeID: peer.nodeID, fingerprint: peer.fingerprint, address: peer.address,
                state: peer.state.rawValue, incarnation: UInt64(max(0, peer.incarnation)),
                deviceClass: profile?.deviceClass, cores: profile?.cores,
                ramBytes: profile.map { UInt64(max(0, $0.ramBytes)) }, isa: profile?.isa ?? [],
                kernelClass: profile.flatMap { $0.kernelClass.isEmpty ? nil : $0.kernelClass },
                gpus: profile.map(Self.gpuNames) ?? [], gops: profile?.gops,
                lastSeen: max(heard ?? peer.lastSeen, peer.lastSeen))
        }
    }

    private static func gpuNames(_ profile: ProfileRecord) -> [String] {
        guard let data = profile.gpusJSON.data(using: .utf8),
              let gpus = try? JSONSerialization.jsonObject(with: data) as? [[String: String]] else { return [] }
        return gpus.compactMap { $0["name"] }
    }
}
