import TernMesh

/// A node id whose 32 bytes are all `byte` (distinct, readable ids for tests).
func testID(_ byte: UInt8) -> NodeID { NodeID(bytes: [UInt8](repeating: byte, count: 32))! }

func sampleProfile(for node: NodeID, version: UInt64) -> HardwareProfile {
    HardwareProfile(nodeID: node, profileVersion: version, cpuModel: "Apple M2 Pro", cores: 12,
                    isaFeatures: ["neon", "dotprod", "i8mm"], ramTotalBytes: 32 << 30, ramAvailableBytes: 20 << 30,
                    gpus: [.init(vendor: "Apple", name: "M2 Pro GPU", memoryBytes: 32 << 30)], deviceClass: .laptop,
                    ternaryGOPS: 123.25, memoryGBPerSecond: 200, modelHashes: [[UInt8](repeating: 7, count: 32)],
                    adapterHashes: [], loadPercent: 40)
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
    MemberTable(ids.map { MembershipUpdate.alive($0, incarnation: 0, endpoint: "10.0.0.\($0.bytes[0]):7946") })
}
