import Foundation
import Logging
import NIOCore
import TernLedger
import TernKernels
import TernMesh

/// The thin shell around the pure `SWIMInstance`: it owns the sockets, the clock and the
/// ledger, feeds the instance events (datagrams, timer ticks, push-pull snapshots) and
/// carries out the directives it returns. All protocol decisions stay in TernMesh.
public actor MeshRuntime {
    public let identity: NodeIdentity
    public let configuration: NodeConfiguration
    let ledger: Ledger
    let logger: Logger
    let clock: @Sendable () -> UInt64
    let startedAt = Date()

    private var swim: SWIMInstance
    private var inbox = GossipInbox()
    /// Envelope sequence numbers start at the wall clock (ms << 16) so a restarted node is
    /// never mistaken for a replay of its previous life.
    private var sequence: UInt64
    private var persistedIncarnation: UInt64
    private var udp: UDPChannel?
    private var listener: SecureListener?
    private var resolved: [String: SocketAddress] = [:]
    private var lastHeard: [NodeID: Date] = [:]
    private var dropped: [String: Int] = [:]

    /// - Parameter clock: milliseconds since the Unix epoch (envelope timestamps are
    ///   checked against peers' clocks, so it must be wall time).
    public init(identity: NodeIdentity, ledger: Ledger, configuration: NodeConfiguration, logger: Logger,
                clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }) throws {
        self.identity = identity
        self.ledger = ledger
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        let now = clock()
        // A restarted node comes back with a higher incarnation than any it used before, so
        // its "alive" overrides the "dead" its peers hold about it.
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
        swim = SWIMInstance(me: identity.nodeID, endpoint: configuration.listen.description, settings: settings,
                            incarnation: incarnation, seed: UInt64.random(in: .min ... .max), nowMillis: now)
        sequence = now << 16
        persistedIncarnation = incarnation
        try Self.writeSelfRow(ledger: ledger, identity: identity, address: configuration.listen,
                              incarnation: incarnation, now: now)
    }

    // MARK: Running

    /// Binds the gossip (UDP) and push-pull (TCP) sockets on the listen address.
    public func bind() async throws {
        let listen = configuration.listen
        do {
            udp = try await UDPChannel.bind(host: listen.host, port: listen.port)
            let log = logger
            listener = try await SecureListener.bind(
                host: listen.host, port: listen.port, identity: identity.transportIdentity,
                requirement: .allowedBy { _ in true }, protocols: ["pushpull/1"],
                onRejected: { remote, reason in
                    log.notice("refused push-pull connection", metadata: ["from": "\(remote.map { "\($0)" } ?? "?")", "reason": "\(reason)"])
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
            group.addTask { for await connection in listener.connections { Task { await self.answerPushPull(connection) } } }
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
            let wait = min(max(Int64(swim.nextWakeupMillis) - Int64(clock()), 5), 250)
            try? await Task.sleep(for: .milliseconds(wait))
            await execute(swim.tick(nowMillis: clock()))
        }
    }

    /// Joins through the configured bootstrap peers and, after a restart, through the peers
    /// the ledger remembers. Retries until some member is known.
    private func joinLoop() async {
        var delay = 1.0
        while !Task.isCancelled {
            if swim.groupSize > 1 { return }
            var candidates = configuration.bootstrap.filter { $0 != configuration.listen }
            let remembered = (try? ledger.peerListing()) ?? []
            for listing in remembered where listing.peer.nodeID != identity.nodeID.hex {
                if let address = try? HostPort(parsing: listing.peer.address), !candidates.contains(address) {
                    candidates.append(address)
                }
            }
            for address in candidates {
                do {
                    try await pushPull(with: address, requirement: .allowedBy { _ in true })
                    logger.info("joined the mesh", metadata: ["through": "\(address)", "members": "\(swim.groupSize)"])
                    return
                } catch {
                    logger.debug("join attempt failed", metadata: ["through": "\(address)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .seconds(delay))
            delay = min(delay * 2, 10)
        }
    }

    /// Asks the running node to join through `address` (the `mesh join` command).
    public func join(through address: HostPort) async throws -> Int {
        try await pushPull(with: address, requirement: .allowedBy { _ in true })
        return swim.groupSize
    }

    private func leave() async {
        await execute(swim.leave())
        await udp?.close()
        await listener?.close()
    }

    // MARK: Events

    private func receive(_ datagram: ReceivedDatagram) async {
        let now = clock()
        switch inbox.accept(datagram.bytes, nowMillis: now) {
        case let .deliver(message, sender):
            lastHeard[sender] = Date()
            await execute(swim.receive(message, from: sender, nowMillis: now), replyAddress: (sender, datagram.sender))
        case let .dropped(drop):
            let reason: String
            switch drop {
            case let .envelope(why, _): reason = why.rawValue
            case .graylisted: reason = "graylisted"
            case .rateLimited: reason = "rateLimited"
            case .undecodableBody: reason = "undecodableBody"
            }
            dropped[reason, default: 0] += 1
            logger.debug("dropped datagram", metadata: ["reason": "\(reason)", "from": "\(datagram.sender)"])
        }
    }

    private func answerPushPull(_ connection: SecureConnection) async {
        defer { Task { await connection.close() } }
        guard let peer = NodeID(bytes: connection.peerIdentity),
              inbox.scores.score(of: peer, nowMillis: clock()) > inbox.scores.settings.graylistThreshold else { return }
        do {
            guard let frame = try await connection.receive() else { return }
            let theirs = try MembershipSnapshot(decoding: frame)
            try await connection.send(swim.snapshot().encoded())
            await execute(swim.merge(theirs, from: peer, nowMillis: clock()))
        } catch {
            inbox.reportInvalid(from: peer, nowMillis: clock())
            logger.notice("bad push-pull", metadata: ["from": "\(peer)", "error": "\(error)"])
        }
    }

    private func pushPull(with address: HostPort, requirement: PeerRequirement) async throws {
        let connection = try await SecureConnection.connect(
            host: address.host, port: address.port, identity: identity.transportIdentity,
            requirement: requirement, protocolID: "pushpull/1", handshakeTimeout: .seconds(5))
        defer { Task { await connection.close() } }
        guard let peer = NodeID(bytes: connection.peerIdentity), peer != identity.nodeID else {
            throw NodeError.startup("\(address) is this node itself")
        }
        try await connection.send(swim.snapshot().encoded())
        guard let frame = try await connection.receive() else {
            throw NodeError.startup("\(address) closed the push-pull stream")
        }
        await execute(swim.merge(try MembershipSnapshot(decoding: frame), from: peer, nowMillis: clock()))
    }

    // MARK: Directives

    /// Carries out directives. `replyAddress` is where a datagram from a not-yet-known
    /// member came from, so an ack can reach it before its endpoint is gossiped.
    private func execute(_ directives: [SWIMDirective], replyAddress: (NodeID, SocketAddress)? = nil) async {
        let now = clock()
        var outgoing: [([UInt8], SocketAddress)] = []
        for directive in directives {
            switch directive {
            case let .send(message, to):
                guard let address = address(of: to) ?? (replyAddress?.0 == to ? replyAddress?.1 : nil) else { continue }
                sequence += 1
                let packet = GossipEnvelope.seal(body: message.encoded(), sequence: sequence, timestampMillis: now, signer: identity)
                outgoing.append((packet, address))
            case let .memberChanged(change):
                record(change, now: now)
            case let .profileLearned(profile):
                do {
                    try ledger.storeProfile(ProfileBuilder.record(of: profile, receivedAt: Date()))
                } catch {
                    logger.error("ledger write failed", metadata: ["error": "\(error)"])
                }
            case let .pushPull(peer, endpoint):
                guard let address = try? HostPort(parsing: endpoint) else { continue }
                Task { try? await self.pushPull(with: address, requirement: .exactly(peer.bytes)) }
            case let .invalidRecord(from, reason):
                inbox.reportInvalid(from: from, nowMillis: now)
                logger.notice("invalid gossip record", metadata: ["from": "\(from)", "reason": "\(reason)"])
            }
        }
        if swim.incarnation != persistedIncarnation { try? persistSelf(now: now) }
        guard let udp else { return }
        for (packet, address) in outgoing {
            try? await udp.send(packet, to: address)
        }
    }

    private func record(_ change: MemberChange, now: UInt64) {
        guard change.node != identity.nodeID else { return }
        logger.info("member \(change.status)", metadata: [
            "node": "\(change.node)", "incarnation": "\(change.incarnation)", "endpoint": "\(change.endpoint)"])
        let at = Date(timeIntervalSince1970: Double(now) / 1000)
        let state = PeerState(rawValue: change.status.description) ?? .dead
        do {
            let known = try ledger.peer(nodeID: change.node.hex)
            try ledger.upsertPeer(PeerRecord(
                nodeID: change.node.hex, address: change.endpoint.isEmpty ? (known?.address ?? "") : change.endpoint,
                fingerprint: change.node.fingerprint, firstSeen: known?.firstSeen ?? at, lastSeen: at,
                state: state, incarnation: Int64(clamping: change.incarnation),
                score: inbox.scores.score(of: change.node, nowMillis: now)))
            try ledger.recordMembershipChange(
                nodeID: change.node.hex, from: change.previous.flatMap { PeerState(rawValue: $0.description) },
                to: state, incarnation: Int64(clamping: change.incarnation), at: at)
        } catch {
            logger.error("ledger write failed", metadata: ["error": "\(error)"])
        }
    }

    /// Keeps this node's own row (and so its incarnation) in the ledger across restarts.
    private func persistSelf(now: UInt64) throws {
        try Self.writeSelfRow(ledger: ledger, identity: identity, address: configuration.listen,
                              incarnation: swim.incarnation, now: now)
        persistedIncarnation = swim.incarnation
    }

    private static func writeSelfRow(ledger: Ledger, identity: NodeIdentity, address: HostPort,
                                     incarnation: UInt64, now: UInt64) throws {
        let at = Date(timeIntervalSince1970: Double(now) / 1000)
        let me = identity.nodeID
        let known = try ledger.peer(nodeID: me.hex)
        try ledger.upsertPeer(PeerRecord(
            nodeID: me.hex, address: address.description, fingerprint: me.fingerprint,
            firstSeen: known?.firstSeen ?? at, lastSeen: at, state: .alive,
            incarnation: Int64(clamping: incarnation)))
    }

    private func address(of node: NodeID) -> SocketAddress? {
        guard let endpoint = swim.members.endpoint(of: node), !endpoint.isEmpty else { return nil }
        if let cached = resolved[endpoint] { return cached }
        guard let hostPort = try? HostPort(parsing: endpoint),
              let address = try? SocketAddress.makeAddressResolvingHost(hostPort.host, port: hostPort.port) else { return nil }
        resolved[endpoint] = address
        return address
    }

    // MARK: Queries for the control API

    public func status(dataDirectory: String) -> NodeStatusReply {
        var counts: [MemberStatus: Int] = [:]
        for update in swim.snapshot().members where update.node != identity.nodeID { counts[update.status, default: 0] += 1 }
        return NodeStatusReply(
            nodeID: identity.nodeID.hex, fingerprint: identity.nodeID.fingerprint, version: TernVersion.string,
            gossipAddress: configuration.listen.description, incarnation: swim.incarnation,
            membersAlive: counts[.alive, default: 0], membersSuspect: counts[.suspect, default: 0],
            membersDead: counts[.dead, default: 0] + counts[.left, default: 0],
            uptimeSeconds: Date().timeIntervalSince(startedAt), dataDirectory: dataDirectory,
            droppedDatagrams: dropped)
    }

    public func peers() throws -> [PeerRow] {
        try ledger.peerListing().compactMap { listing in
            let peer = listing.peer
            guard peer.nodeID != identity.nodeID.hex else { return nil }
            let heard = lastHeard.first { $0.key.hex == peer.nodeID }?.value
            let profile = listing.profile
            return PeerRow(
                nodeID: peer.nodeID, fingerprint: peer.fingerprint, address: peer.address,
                state: peer.state.rawValue, incarnation: UInt64(max(0, peer.incarnation)),
                deviceClass: profile?.deviceClass, cores: profile?.cores,
                ramBytes: profile.map { UInt64(max(0, $0.ramBytes)) }, isa: profile?.isa ?? [],
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
