import TernSupport

/// A deterministic in-process network of `SWIMInstance`s: virtual time, per-message loss,
/// random latency, and churn (nodes crash, stay down, restart with the same identity).
///
/// Every message is encoded and sealed in a real `GossipEnvelope`, and every membership
/// record and profile carries its signature field, so byte counts are exact; only the
/// Ed25519 signatures are 64 zero bytes (`UnsignedSimulationSigner`) and go unchecked, to
/// keep ten thousand nodes fast.
/// Push-pull is modelled as an instant, reliable exchange of snapshots (it runs over TCP);
/// its bytes are counted separately. A restarted node joins with a copy of a live peer's
/// member table, as it would after a push-pull with a seed.
public struct GossipSimulation {
    public struct Configuration: Sendable {
        public var nodes = 1_000
        public var lossProbability = 0.0
        /// Probability per node per virtual second of crashing.
        public var churnPerSecond = 0.0
        /// How long a crashed node stays down before it restarts.
        public var downtimeSeconds = 120
        public var seconds = 600
        public var seed: UInt64 = 1
        public var latencyMillis: ClosedRange<UInt64> = 5...40
        /// A random live node publishes a new profile version at this second and every
        /// `profileEverySeconds` after it.
        public var firstProfileAtSecond = 5
        public var profileEverySeconds = 60
        public var settings = SWIMSettings()
        /// Cut the network in two (the first `partitionFraction` of the nodes on one side)
        /// at `partitionAtSecond`, and restore it `healAfterSeconds` later. nil: never.
        public var partitionFraction: Double?
        public var partitionAtSecond = 30
        public var healAfterSeconds = 60
        public init() {}
    }

    public struct Report: Codable, Sendable, Equatable {
        public var nodes: Int
        public var seconds: Int
        public var loss: Double
        public var churn: Double
        /// Worst case over the profile updates: periods until 99% / all of the nodes that
        /// were up when it was published (and stayed up) held it. -1 if never reached (or
        /// the run was too short to publish one).
        public var periods_to_99: Double
        public var periods_to_all: Double
        public var profile_updates: Int
        /// Gossip (UDP) bytes sent per live node per second, envelopes included.
        public var bytes_per_node_per_s: Double
        /// Push-pull (TCP) snapshot bytes per live node per second.
        public var pushpull_bytes_per_node_per_s: Double
        /// 99th percentile of periods from a crash until every live node marked it dead.
        public var detect_periods_p99: Double
        public var crashes: Int
        public var crashes_detected: Int
        /// Dead declarations (by any node) about nodes that never crashed.
        public var false_dead: Int
        public var messages_sent: Int
        public var messages_lost: Int
        /// Periods from the cut until every node counted the other side out (-1: never, or
        /// no partition).
        public var partition_split_periods: Double
        /// Periods from the heal until every node counted every node in again (-1: never,
        /// or no partition).
        public var partition_heal_periods: Double
    }

    /// Runs the simulation; `progress` is called after each virtual second with its number.
    public static func run(_ configuration: Configuration, progress: (Int) -> Void = { _ in }) -> Report {
        var network = Network(configuration)
        return network.run(progress: progress)
    }
}

/// The mutable world of one simulation run.
private struct Network {
    enum Event {
        case wake(Int)
        case deliver(from: Int, to: Int, SWIMMessage)
        case second(Int)
    }

    /// A crash whose detection is still being watched: which live nodes have not yet
    /// marked the crashed node dead.
    struct CrashWatch {
        let node: Int
        let at: UInt64
        var pending: Set<Int>
    }

    /// A published profile version and which of the nodes up at the time have it.
    struct ProfileWatch {
        let owner: Int
        let version: UInt64
        let at: UInt64
        /// Nodes up at publication that have stayed up since.
        var eligible: Set<Int>
        /// Those of them that do not hold it yet.
        var waiting: Set<Int>
        var reached99: UInt64?
        var reachedAll: UInt64?
    }

    let config: Configuration
    typealias Configuration = GossipSimulation.Configuration
    var ids: [NodeID] = []
    var endpoints: [String] = []
    var indexOf: [NodeID: Int] = [:]
    var instances: [SWIMInstance] = []
    var up: [Bool] = []
    var everCrashed: [Bool] = []
    var scheduledWake: [UInt64] = []
    var restartAt: [Int: Int] = [:]
    var heap = EventHeap<Event>()
    var random: SplitMix64
    var now: UInt64 = 0
    var sequence: UInt64 = 0
    var crashWatches: [Int: CrashWatch] = [:]
    var profileWatches: [ProfileWatch] = []
    var detections: [Double] = []
    var stats = (gossipBytes: 0, pushPullBytes: 0, sent: 0, lost: 0, crashes: 0, falseDead: 0, upNodeSeconds: 0)
    var restarts: UInt64 = 0
    /// Side of each node while the network is cut (nil: not cut).
    var side: [Bool]?
    var partitionSplitAt: UInt64?
    var partitionHealedAt: UInt64?
    var partitionSplitPeriods = -1.0
    var partitionHealPeriods = -1.0

    init(_ config: Configuration) {
        self.config = config
        random = SplitMix64(seed: config.seed)
        var settings = config.settings
        settings.verifySignatures = false
        for index in 0..<config.nodes {
            let id = NodeID(bytes: (0..<4).flatMap { _ in withUnsafeBytes(of: random.next()) { Array($0) } })!
            ids.append(id)
            endpoints.append("10.\(index >> 16 & 255).\(index >> 8 & 255).\(index & 255):7946")
            indexOf[id] = index
        }
        let table = MemberTable(ids.indices.map {
            MembershipUpdate.alive(incarnation: 0, endpoint: endpoints[$0], signer: UnsignedSimulationSigner(nodeID: ids[$0]), mesh: .open)
        })
        for index in ids.indices {
            instances.append(SWIMInstance(signer: UnsignedSimulationSigner(nodeID: ids[index]), endpoint: endpoints[index],
                                          settings: settings, knownMembers: table, seed: random.next(), nowMillis: 0))
        }
        up = Array(repeating: true, count: config.nodes)
        everCrashed = Array(repeating: false, count: config.nodes)
        scheduledWake = Array(repeating: .max, count: config.nodes)
        for index in ids.indices { scheduleWake(index) }
        for second in 0...config.seconds { heap.push(.second(second), at: UInt64(second) * 1000) }
    }

    var period: Double { Double(config.settings.protocolPeriodMillis) }

    mutating func run(progress: (Int) -> Void) -> GossipSimulation.Report {
        let end = UInt64(config.seconds) * 1000
        while let (at, event) = heap.pop(), at <= end {
            now = at
            switch event {
            case let .wake(node):
                guard up[node], scheduledWake[node] == at else { continue }
                scheduledWake[node] = .max
                handle(instances[node].tick(nowMillis: now), at: node)
            case let .deliver(from, to, message):
                guard up[to] else { continue }
                handle(instances[to].receive(message, from: ids[from], nowMillis: now), at: to)
            case let .second(second):
                everySecond(second)
                progress(second)
            }
        }
        return report()
    }

    // MARK: Directives

    mutating func handle(_ directives: [SWIMDirective], at node: Int) {
        for directive in directives {
            switch directive {
            case let .send(message, to: target):
                send(message, from: node, to: target)
            case let .memberChanged(change):
                if change.status == .dead { observeDead(change.node, by: node) }
            case let .profileLearned(profile):
                observeProfile(profile, by: node)
            case let .pushPull(with: peer, _):
                pushPull(node, with: peer)
            case .invalidRecord:
                break
            }
        }
        scheduleWake(node)
    }

    mutating func send(_ message: SWIMMessage, from node: Int, to target: NodeID) {
        sequence += 1
        let packet = GossipEnvelope.seal(body: message.encoded(), sequence: sequence, timestampMillis: now,
                                         signer: UnsignedSimulationSigner(nodeID: ids[node]))
        stats.gossipBytes += packet.count
        stats.sent += 1
        guard let destination = indexOf[target] else { return }
        if let side, side[node] != side[destination] {
            stats.lost += 1
            return
        }
        if config.lossProbability > 0 && Double(random.next() >> 11) / Double(1 << 53) < config.lossProbability {
            stats.lost += 1
            return
        }
        let spread = config.latencyMillis.upperBound - config.latencyMillis.lowerBound + 1
        heap.push(.deliver(from: node, to: destination, message), at: now + config.latencyMillis.lowerBound + random.next() % spread)
    }

    mutating func pushPull(_ node: Int, with peer: NodeID) {
        guard let other = indexOf[peer], up[other] else { return }
        if let side, side[node] != side[other] { return }
        let mine = instances[node].snapshot(), theirs = instances[other].snapshot()
        stats.pushPullBytes += mine.encodedSize + theirs.encodedSize
        handle(instances[node].merge(theirs, from: peer, nowMillis: now), at: node)
        handle(instances[other].merge(mine, from: ids[node], nowMillis: now), at: other)
    }

    mutating func scheduleWake(_ node: Int) {
        guard up[node] else { return }
        let wake = max(instances[node].nextWakeupMillis, now)
        if wake < scheduledWake[node] {
            scheduledWake[node] = wake
            heap.push(.wake(node), at: wake)
        }
    }

    // MARK: Churn and profile updates

    mutating func everySecond(_ second: Int) {
        stats.upNodeSeconds += up.lazy.filter { $0 }.count
        watchPartition(second)
        for node in restartAt.filter({ $0.value == second }).map(\.key).sorted() { restart(node) }
        if config.churnPerSecond > 0 && second > 0 {
            for node in ids.indices where up[node] && Double(random.next() >> 11) / Double(1 << 53) < config.churnPerSecond {
                crash(node, second: second)
            }
        }
        if second >= config.firstProfileAtSecond && (second - config.firstProfileAtSecond) % config.profileEverySeconds == 0 {
            publishProfile(version: UInt64(second + 1))
        }
    }

    mutating func crash(_ node: Int, second: Int) {
        up[node] = false
        everCrashed[node] = true
        stats.crashes += 1
        restartAt[node] = second + config.downtimeSeconds
        for watched in crashWatches.keys.sorted() { markDead(watched, seenBy: node) }
        for index in profileWatches.indices {
            profileWatches[index].eligible.remove(node)
            profileWatches[index].waiting.remove(node)
            checkProgress(index)
        }
        let observers = Set(ids.indices.filter { up[$0] })
        crashWatches[node] = CrashWatch(node: node, at: now, pending: observers)
    }

    mutating func restart(_ node: Int) {
        restartAt[node] = nil
        crashWatches[node] = nil  // not detected everywhere before it came back
        let live = ids.indices.filter { up[$0] }
        guard let seed = live.randomElement(using: &random) else { return }
        restarts += 1
        instances[node] = SWIMInstance(signer: UnsignedSimulationSigner(nodeID: ids[node]), endpoint: endpoints[node],
                                       settings: instances[seed].settings,
                                       knownMembers: instances[seed].members, seed: random.next() ^ restarts, nowMillis: now)
        up[node] = true
        scheduledWake[node] = .max
        scheduleWake(node)
    }

    mutating func publishProfile(version: UInt64) {
        let live = ids.indices.filter { up[$0] }
        guard let owner = live.randomElement(using: &random) else { return }
        let profile = HardwareProfile(
            nodeID: ids[owner], profileVersion: version, cpuModel: "AMD EPYC 9654 96-Core Processor", cores: 96,
            isaFeatures: ["avx2", "avx512f", "avx512bw", "avx512vnni"], ramTotalBytes: 384 << 30, ramAvailableBytes: 300 << 30,
            gpus: [], deviceClass: .server, ternaryGOPS: 812.5, memoryGBPerSecond: 460.8,
            modelHashes: [Array(repeating: 0xAB, count: 32)], adapterHashes: [], loadPercent: 12, kernelClass: "avx512-vnni")
        guard let signed = try? SignedProfile(profile: profile, signer: UnsignedSimulationSigner(nodeID: ids[owner])) else { return }
        var eligible = Set(live)
        eligible.remove(owner)
        profileWatches.append(ProfileWatch(owner: owner, version: version, at: now, eligible: eligible, waiting: eligible))
        handle(instances[owner].publish(signed), at: owner)
    }

    // MARK: Partition

    /// Cuts and heals the network on schedule, and times how long each side takes to count
    /// the other out, and the whole mesh to count everyone back in.
    mutating func watchPartition(_ second: Int) {
        guard let fraction = config.partitionFraction else { return }
        let cutAt = config.partitionAtSecond, healAt = config.partitionAtSecond + config.healAfterSeconds
        if second == cutAt {
            let boundary = Int(Double(config.nodes) * fraction)
            side = ids.indices.map { $0 < boundary }
            partitionSplitAt = now
        }
        if second == healAt {
            side = nil
            partitionHealedAt = now
        }
        let live = ids.indices.filter { up[$0] }
        if let side, let at = partitionSplitAt, partitionSplitPeriods < 0 {
            let sizes = (live.filter { side[$0] }.count, live.filter { !side[$0] }.count)
            if live.allSatisfy({ instances[$0].members.liveCount == (side[$0] ? sizes.0 : sizes.1) }) {
                partitionSplitPeriods = Double(now - at) / period
            }
        }
        if side == nil, let at = partitionHealedAt, partitionHealPeriods < 0,
           live.allSatisfy({ instances[$0].members.liveCount == live.count }) {
            partitionHealPeriods = Double(now - at) / period
        }
    }

    // MARK: Observation

    mutating func observeDead(_ subject: NodeID, by observer: Int) {
        guard let node = indexOf[subject] else { return }
        // Once the network has been cut, deaths across the cut are the point, not false.
        if up[node] && !everCrashed[node] && partitionSplitAt == nil { stats.falseDead += 1 }
        markDead(node, seenBy: observer)
    }

    /// `observer` no longer needs to learn of `node`'s crash (it did, or it crashed too).
    mutating func markDead(_ node: Int, seenBy observer: Int) {
        guard var watch = crashWatches[node], watch.pending.remove(observer) != nil else { return }
        if watch.pending.isEmpty {
            detections.append(Double(now - watch.at) / period)
            crashWatches[node] = nil
        } else {
            crashWatches[node] = watch
        }
    }

    mutating func observeProfile(_ profile: SignedProfile, by observer: Int) {
        guard let owner = indexOf[profile.nodeID],
              let index = profileWatches.firstIndex(where: { $0.owner == owner && $0.version == profile.version }),
              profileWatches[index].waiting.remove(observer) != nil else { return }
        checkProgress(index)
    }

    /// Records when 99% and all of the eligible nodes hold the profile.
    mutating func checkProgress(_ index: Int) {
        var watch = profileWatches[index]
        let holders = watch.eligible.count - watch.waiting.count
        if watch.reached99 == nil && Double(holders) >= 0.99 * Double(watch.eligible.count) { watch.reached99 = now }
        if watch.reachedAll == nil && watch.waiting.isEmpty { watch.reachedAll = now }
        profileWatches[index] = watch
    }

    func report() -> GossipSimulation.Report {
        func worst(_ times: [UInt64?], _ watches: [ProfileWatch]) -> Double {
            guard !watches.isEmpty else { return -1 }
            var result = 0.0
            for (time, watch) in zip(times, watches) {
                guard let time else { return -1 }
                result = max(result, Double(time - watch.at) / period)
            }
            return result
        }
        let sorted = detections.sorted()
        let p99 = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
        let nodeSeconds = Double(max(stats.upNodeSeconds, 1))
        return GossipSimulation.Report(
            nodes: config.nodes, seconds: config.seconds, loss: config.lossProbability, churn: config.churnPerSecond,
            periods_to_99: worst(profileWatches.map(\.reached99), profileWatches),
            periods_to_all: worst(profileWatches.map(\.reachedAll), profileWatches),
            profile_updates: profileWatches.count,
            bytes_per_node_per_s: Double(stats.gossipBytes) / nodeSeconds,
            pushpull_bytes_per_node_per_s: Double(stats.pushPullBytes) / nodeSeconds,
            detect_periods_p99: p99, crashes: stats.crashes, crashes_detected: detections.count,
            false_dead: stats.falseDead, messages_sent: stats.sent, messages_lost: stats.lost,
            partition_split_periods: partitionSplitPeriods, partition_heal_periods: partitionHealPeriods)
    }
}
