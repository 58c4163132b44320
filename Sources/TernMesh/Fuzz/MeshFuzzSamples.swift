/// The valid inputs the mesh fuzz targets start from, all built with the same public
/// constructors a node uses, so they follow the format wherever it changes. Every sample a
/// mesh target mutates is made here: when a constructor changes, this is the one file to
/// update.
///
/// The samples cover every variant a decoder distinguishes: each message kind, each member
/// status, IPv4 and IPv6 endpoints, empty and full profiles, non-ASCII strings.
public enum MeshFuzzSamples {
    /// The mesh every record and envelope is signed for: a private one, so the mesh binding
    /// of signatures is part of what gets checked.
    public static let mesh = try! MeshID(secret: [UInt8](repeating: 0x4D, count: MeshID.keyByteCount))
    /// The clock of the envelope samples (2026-01-01T00:00:00Z); the envelope target's
    /// verifier reads the same time.
    public static let nowMillis: UInt64 = 1_767_225_600_000

    static let alice = identity(1), bob = identity(2), carol = identity(3), dave = identity(4)

    /// A reproducible key pair: the seed is 32 copies of `byte`.
    static func identity(_ byte: UInt8) -> NodeIdentity {
        try! NodeIdentity(seed: [UInt8](repeating: byte, count: 32))
    }

    // MARK: Membership records and profiles

    /// One record of each status, alive ones with an IPv4 and an IPv6 endpoint.
    public static var membershipUpdates: [MembershipUpdate] {
        [
            .alive(incarnation: 0, endpoint: "10.0.0.1:7946", signer: alice, mesh: mesh),
            .alive(incarnation: 7, endpoint: "[2001:db8::2]:7946", signer: bob, mesh: mesh),
            .suspect(carol.nodeID, incarnation: 3, accuser: alice, mesh: mesh),
            .dead(carol.nodeID, incarnation: 3, accuser: bob, mesh: mesh),
            .left(incarnation: 9, signer: carol, mesh: mesh),
        ]
    }

    /// A typical laptop, a profile as empty as the sanity checks allow (one core), a large GPU server near the size limits
    /// (with a kernel class this build does not know) and a phone whose CPU name is not ASCII.
    public static var profiles: [HardwareProfile] {
        func hash(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: HardwareProfile.hashByteCount) }
        let h100 = HardwareProfile.GPU(vendor: "NVIDIA", name: "H100 80GB HBM3", memoryBytes: 80 << 30)
        return [
            HardwareProfile(nodeID: alice.nodeID, profileVersion: 1, cpuModel: "Apple M2 Pro", cores: 12,
                            isaFeatures: ["neon", "dotprod", "i8mm"], ramTotalBytes: 32 << 30, ramAvailableBytes: 20 << 30,
                            gpus: [.init(vendor: "Apple", name: "M2 Pro GPU", memoryBytes: 32 << 30)], deviceClass: .laptop,
                            ternaryGOPS: 123.25, memoryGBPerSecond: 200, modelHashes: [hash(7)], adapterHashes: [],
                            loadPercent: 40, kernelClass: "neon"),
            HardwareProfile(nodeID: bob.nodeID, profileVersion: 0, cpuModel: "", cores: 1, isaFeatures: [],
                            ramTotalBytes: 0, ramAvailableBytes: 0, gpus: [], deviceClass: .server, ternaryGOPS: 0,
                            memoryGBPerSecond: 0, modelHashes: [], adapterHashes: [], loadPercent: 0, kernelClass: ""),
            HardwareProfile(nodeID: carol.nodeID, profileVersion: .max, cpuModel: "AMD EPYC 9654 96-Core Processor",
                            cores: 192, isaFeatures: ["sse4.2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vnni"],
                            ramTotalBytes: 1536 << 30, ramAvailableBytes: 768 << 30,
                            gpus: Array(repeating: h100, count: HardwareProfile.maxGPUs), deviceClass: .desktop,
                            ternaryGOPS: 4096.5, memoryGBPerSecond: 460.8, modelHashes: (1...4).map(hash),
                            adapterHashes: [hash(0xA1), hash(0xA2)], loadPercent: 100,
                            kernelClass: "avx10.2-512-bf16-vnni-amx-fp16"),
            HardwareProfile(nodeID: dave.nodeID, profileVersion: 42, cpuModel: "Kryo™ Prime (Snapdragon 8 Gen 3)", cores: 8,
                            isaFeatures: ["neon"], ramTotalBytes: 12 << 30, ramAvailableBytes: 1 << 30, gpus: [],
                            deviceClass: .phoneClass, ternaryGOPS: 3.5e-3, memoryGBPerSecond: 51.2,
                            modelHashes: [], adapterHashes: [hash(0xEE)], loadPercent: 99, kernelClass: "neon"),
        ]
    }

    /// `profiles`, each signed by its own node.
    public static var signedProfiles: [SignedProfile] {
        let signers = [alice, bob, carol, dave]
        return profiles.map { profile in
            try! SignedProfile(profile: profile, signer: signers.first { $0.nodeID == profile.nodeID }!)
        }
    }

    // MARK: SWIM messages and envelopes

    /// One message of each kind, carrying no records, every kind of record, or profiles.
    public static var swimMessages: [SWIMMessage] {
        let updates = membershipUpdates, profiles = signedProfiles
        return [
            SWIMMessage(kind: .ping(probe: 1)),
            SWIMMessage(kind: .pingRequest(probe: .max, target: carol.nodeID), updates: updates),
            SWIMMessage(kind: .ack(probe: 2), updates: [updates[0], updates[2]], profiles: [profiles[0], profiles[1]]),
            SWIMMessage(kind: .nack(probe: 3)),
            SWIMMessage(kind: .ping(probe: 4), updates: [updates[4]], profiles: [profiles[2]]),
            SWIMMessage(kind: .ack(probe: 5), profiles: [profiles[3]]),
        ]
    }

    /// The messages sealed by different senders, for `mesh` at `nowMillis`. Sequence numbers
    /// jump (so a later sample can be stale once an earlier one was accepted) and the last
    /// envelope's clock is two minutes off.
    public static var envelopes: [[UInt8]] {
        let senders = [alice, bob, carol, alice, alice, dave]
        let sequences: [UInt64] = [1, 1, 1, 100, 2, 1]
        var sealed = zip(swimMessages, zip(senders, sequences)).map { message, sender in
            GossipEnvelope.seal(body: message.encoded(), sequence: sender.1, timestampMillis: nowMillis,
                                signer: sender.0, mesh: mesh)
        }
        sealed.append(GossipEnvelope.seal(body: swimMessages[0].encoded(), sequence: 7, timestampMillis: nowMillis + 120_000,
                                          signer: bob, mesh: mesh))
        return sealed
    }

    // MARK: Push-pull snapshots

    /// Fragments of a snapshot of every record and profile: small fragments, the whole
    /// snapshot in one, and the empty snapshot.
    public static var snapshotFragments: [[UInt8]] {
        let snapshot = MembershipSnapshot(members: membershipUpdates, profiles: signedProfiles)
        return snapshot.fragments(maxBytes: 1_024) + snapshot.fragments() + MembershipSnapshot().fragments()
    }

    // MARK: Job receipts

    /// A train receipt with every field set and 64 inputs, countersigned; and a generate
    /// receipt without inputs or output, signed by its worker only.
    public static var signedReceipts: [SignedReceipt] {
        var chain = StepHashChain()
        chain.append(StepHashChain.digest([1]))
        let train = JobReceipt(
            jobID: [UInt8](repeating: 0x10, count: JobReceipt.jobIDByteCount), kind: .train, worker: alice.nodeID,
            requester: bob.nodeID, inputs: (0..<JobReceipt.maxInputs).map { BlobID(bytes: [UInt8](repeating: UInt8($0), count: 32))! },
            optionsHash: StepHashChain.digest([2]), output: BlobID(bytes: [UInt8](repeating: 0xEE, count: 32)),
            tokens: 1 << 40, wallMillis: 86_400_000, stepChainRoot: chain.root, finishedAtMillis: nowMillis)
        let generate = JobReceipt(
            jobID: [UInt8](repeating: 0x20, count: JobReceipt.jobIDByteCount), kind: .generate, worker: carol.nodeID,
            requester: alice.nodeID, inputs: [], optionsHash: StepHashChain.digest([3]), output: nil, tokens: 0,
            wallMillis: 0, stepChainRoot: StepHashChain().root, finishedAtMillis: 0)
        return [try! SignedReceipt.sign(train, worker: alice, mesh: mesh).countersigned(by: bob, mesh: mesh),
                try! SignedReceipt.sign(generate, worker: carol, mesh: mesh)]
    }

    // MARK: Secure-stream handshake

    /// The side that dials in the handshake samples; the fuzzed acceptor is `bob`.
    static var handshakeConnector: NodeIdentity { alice }
    static var handshakeAcceptor: NodeIdentity { bob }
    /// Fixed ephemeral keys, so that a recorded handshake replays: the connector's signature
    /// covers the acceptor's ephemeral key.
    static let connectorEphemeralSeed = [UInt8](repeating: 0xC0, count: 32)
    static let acceptorEphemeralSeed = [UInt8](repeating: 0xAC, count: 32)

    /// What an acceptor reads from a connector, as framed on the wire: hello and auth alone,
    /// then followed by encrypted frames, the last one ending the stream.
    static var handshakeStreams: [[UInt8]] {
        [
            handshakeStream(frames: []),
            handshakeStream(frames: [Array("ping".utf8)]),
            handshakeStream(frames: [[], Array(repeating: 0x5A, count: 300), Array("bye".utf8)]),
        ]
    }

    private static func handshakeStream(frames: [[UInt8]]) -> [UInt8] {
        let connector = SecureHandshake(role: .connector, identity: handshakeConnector.transportIdentity,
                                        ephemeralSeed: connectorEphemeralSeed)
        let acceptor = SecureHandshake(role: .acceptor, identity: handshakeAcceptor.transportIdentity,
                                       ephemeralSeed: acceptorEphemeralSeed)
        _ = try! connector.receiveHello(acceptor.hello, requirement: .exactly(handshakeAcceptor.nodeID.bytes))
        let (auth, sender) = connector.authentication()
        var payloads = [connector.hello, auth]
        payloads += frames.map { sender.seal($0) }
        if !frames.isEmpty { payloads.append(sender.seal([], final: true)) }
        var writer = WireWriter()
        for payload in payloads {
            writer.u32(UInt32(payload.count))
            writer.fixed(payload)
        }
        return writer.bytes
    }
}
