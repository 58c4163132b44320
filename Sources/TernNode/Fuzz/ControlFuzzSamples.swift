import Foundation
import TernMesh

/// The valid JSON bodies and files the control fuzz target starts from, built from the real
/// types with the encoders that write them. Every fuzz sample of TernNode is made here:
/// when a control message or a file format changes, this is the one file to update.
enum ControlFuzzSamples {
    static let seenAt = Date(timeIntervalSince1970: 1_767_225_600)

    static func all() throws -> [[UInt8]] {
        let pretty = ControlJSON.encoder, compact = JSONEncoder()
        compact.dateEncodingStrategy = .iso8601
        compact.outputFormatting = .sortedKeys  // the same bytes in every process, so a seed replays
        let pinned = BootstrapPeer(address: HostPort(host: "10.0.0.9", port: 7946),
                                   nodeID: NodeID(bytes: [UInt8](repeating: 0xAB, count: NodeID.byteCount)))
        var configuration = NodeConfiguration()
        configuration.listen = HostPort(host: "0.0.0.0", port: 7946)
        configuration.advertise = HostPort(host: "2001:db8::7", port: 7946)
        configuration.bootstrap = [BootstrapPeer(address: HostPort(host: "10.0.0.5", port: 7946)), pinned]
        configuration.meshKeyFile = "/etc/tern/mesh.key"
        configuration.deviceClass = "phone-class"
        configuration.protocolPeriodMillis = 250
        configuration.controlPort = 7947
        let status = NodeStatusReply(
            nodeID: String(repeating: "ab", count: 32), fingerprint: "0123456789abcdef", version: "0.1.0",
            gossipAddress: "[2001:db8::7]:7946", incarnation: 3, membersAlive: 12, membersSuspect: 1, membersDead: 2,
            uptimeSeconds: 3_600.25, dataDirectory: "/home/tern/.local/share/tern",
            dropped: ["badSignature": 4, "replayed": 17, "record.accuserNotMember": 1])
        let peers = [
            PeerRow(nodeID: String(repeating: "cd", count: 32), fingerprint: "fedcba9876543210", address: "10.0.0.5:7946",
                    state: "alive", incarnation: 0, deviceClass: "laptop", cores: 12, ramBytes: 32 << 30,
                    isa: ["neon", "dotprod"], kernelClass: "neon", gpus: ["Apple M2 Pro GPU"], gops: 123.25, lastSeen: seenAt),
            PeerRow(nodeID: String(repeating: "ef", count: 32), fingerprint: "0011223344556677", address: "[::1]:7946",
                    state: "suspect", incarnation: 9),
        ]
        let throughput = MeasuredThroughput(ternaryGOPS: 87.5, memoryGBPerSecond: 41.2, cpuModel: "AMD EPYC 9R45",
                                            cores: 2, ternVersion: "0.1.0", measuredAt: seenAt)
        return [
            try compact.encode(JoinRequest(address: "10.0.0.5:7946")),
            try compact.encode(JoinRequest(address: "[2001:db8::5]:7946")),
            try pretty.encode(JoinReply(message: "joined through 10.0.0.5:7946: 12 members")),
            try pretty.encode(status),
            try pretty.encode(peers),
            try pretty.encode(ControlEndpoint(port: 43_127, pid: 4_242)),
            try compact.encode(configuration),
            Data("{}".utf8),
            try pretty.encode(throughput),
        ].map { [UInt8]($0) }
    }
}
