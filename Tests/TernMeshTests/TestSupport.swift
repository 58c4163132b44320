import TernMesh

/// A real key pair from the seed whose 32 bytes are all `byte`: distinct, reproducible
/// identities whose records verify.
func testIdentity(_ byte: UInt8) -> NodeIdentity { TestKeys.identities[Int(byte)] }

/// The node id of `testIdentity(byte)`.
func testID(_ byte: UInt8) -> NodeID { TestKeys.identities[Int(byte)].nodeID }

/// The key of a node id made by `testID`.
func signer(_ node: NodeID) -> NodeIdentity { TestKeys.identities[TestKeys.index[node]!] }

/// `10.0.0.N:7946` for `testID(N)`.
func testEndpoint(_ node: NodeID) -> String { "10.0.0.\(TestKeys.index[node]!):7946" }

enum TestKeys {
    static let identities: [NodeIdentity] = (0...255).map { try! NodeIdentity(seed: [UInt8](repeating: UInt8($0), count: 32)) }
    static let index: [NodeID: Int] = Dictionary(uniqueKeysWithValues: identities.enumerated().map { ($1.nodeID, $0) })
}

/// Signed records about test nodes, in the open mesh.
func alive(_ node: NodeID, _ incarnation: UInt64 = 0, endpoint: String? = nil) -> MembershipUpdate {
    .alive(incarnation: incarnation, endpoint: endpoint ?? testEndpoint(node), signer: signer(node), mesh: .open)
}
func suspect(_ node: NodeID, _ incarnation: UInt64, by accuser: NodeID) -> MembershipUpdate {
    .suspect(node, incarnation: incarnation, accuser: signer(accuser), mesh: .open)
}
func dead(_ node: NodeID, _ incarnation: UInt64, by accuser: NodeID) -> MembershipUpdate {
    .dead(node, incarnation: incarnation, accuser: signer(accuser), mesh: .open)
}
func left(_ node: NodeID, _ incarnation: UInt64) -> MembershipUpdate {
    .left(incarnation: incarnation, signer: signer(node), mesh: .open)
}

func sampleProfile(for node: NodeID, version: UInt64) -> HardwareProfile {
    HardwareProfile(nodeID: node, profileVersion: version, cpuModel: "Apple M2 Pro", cores: 12,
                    isaFeatures: ["neon", "dotprod", "i8mm"], ramTotalBytes: 32 << 30, ramAvailableBytes: 20 << 30,
                    gpus: [.init(vendor: "Apple", name: "M2 Pro GPU", memoryBytes: 32 << 30)], deviceClass: .laptop,
                    ternaryGOPS: 123.25, memoryGBPerSecond: 200, modelHashes: [[UInt8](repeating: 7, count: 32)],
                    adapterHashes: [], loadPercent: 40, kernelClass: "neon")
}

extension Array where Element == SWIMDirective {
    /// The messages in these directives, with their destinations.
    var sends: [(message: SWIMMessage, to: NodeID)] {
        compactMap { if case let .send(message, to) = $0 { (message, to) } else { nil } }
    }

    var changes: [MemberChange] {
        compactMap { if case let .memberChanged(change) = $0 { change } else { nil } }
    }
}

/// Drives one `SWIMInstance` against an instant, lossless network in which the members in
/// `down` never answer and every other member answers pings (and pings on request) at once.
struct SWIMHarness {
    var swim: SWIMInstance
    var down: Set<NodeID>
    /// Whether helpers send a nack when the target of a ping-request stays silent.
    var helpersSendNacks = true
    private(set) var changes: [(at: UInt64, change: MemberChange)] = []
    private(set) var directives: [SWIMDirective] = []

    init(_ swim: SWIMInstance, down: Set<NodeID> = []) {
        self.swim = swim
        self.down = down
    }

    /// Ticks at every wake-up up to `end`, answering messages as the network would.
    mutating func run(until end: UInt64) {
        while swim.nextWakeupMillis <= end {
            let now = swim.nextWakeupMillis
            process(swim.tick(nowMillis: now), at: now)
        }
    }

    private mutating func process(_ initial: [SWIMDirective], at now: UInt64) {
        var queue = initial
        while !queue.isEmpty {
            let directive = queue.removeFirst()
            directives.append(directive)
            if case let .memberChanged(change) = directive { changes.append((now, change)) }
            guard case let .send(message, to) = directive, !down.contains(to) else { continue }
            switch message.kind {
            case let .ping(probe):
                queue += swim.receive(SWIMMessage(kind: .ack(probe: probe)), from: to, nowMillis: now)
            case let .pingRequest(probe, target):
                if !down.contains(target) {
                    queue += swim.receive(SWIMMessage(kind: .ack(probe: probe)), from: to, nowMillis: now)
                } else if helpersSendNacks {
                    queue += swim.receive(SWIMMessage(kind: .nack(probe: probe)), from: to, nowMillis: now)
                }
            case .ack, .nack:
                break
            }
        }
    }
}

func table(_ ids: [NodeID]) -> MemberTable {
    MemberTable(ids.map { alive($0) })
}
