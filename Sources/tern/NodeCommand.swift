import ArgumentParser
import Foundation
import Logging
import TernMesh
import TernNode

/// `tern node …`: create a node identity, run the daemon, ask it how it is.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Start a node daemon and inspect it.",
        subcommands: [Init.self, Start.self, Status.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create this node's Ed25519 identity in the data directory (kept if it exists).",
            discussion: "The node id is the public key; the secret key file is created with mode 0600.")

        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            let directory = data.directory
            try directory.create()
            let existed = FileManager.default.fileExists(atPath: directory.identityFile.path)
            let identity = try NodeIdentity.loadOrCreate(inDirectory: directory.url.path)
            print("\(existed ? "existing" : "new") node \(identity.nodeID.fingerprint)")
            print("id   \(identity.nodeID.hex)")
            print("key  \(directory.identityFile.path)")
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the node daemon until SIGINT or SIGTERM.",
            discussion: """
                Listens for gossip (UDP) and push-pull (TCP) on --listen, joins the mesh through
                --bootstrap (or the peers its ledger remembers), advertises this machine's signed
                hardware profile, and serves the control API that `tern node status` and
                `tern mesh …` use on 127.0.0.1. Flags override the --config file (JSON with keys
                listen, advertise, bootstrap, meshKeyFile, deviceClass, protocolPeriodMillis, controlPort,
                maxJobs, blobQuotaBytes, uploadBytesPerSecond, kernelThreads, api, apiKeyFile). Peers reach this node's blob store and
                job runner (`blob/1`, `task/1` streams) on the same address as gossip. With --api it also serves the
                OpenAI-compatible API (/v1/models, …), Prometheus /metrics and a status page at / (docs/api.md);
                the port it bound is written to api.json in the data directory. A request naming a model this
                node does not hold (by blob id, as /v1/models lists peers' models) runs on a live peer that
                holds it and streams back; if that peer fails mid-stream, another holder continues it.
                Every node serves completions that peers forward for the models it holds, --api or not.
                """)

        @Option(help: "Gossip address HOST:PORT (UDP and TCP). Default 127.0.0.1:7946.") var listen: String?
        @Option(help: "IP:PORT peers should use to reach this node (needed when --listen is 0.0.0.0 or behind NAT).") var advertise: String?
        @Option(help: "Comma-separated HOST:PORT[@NODE-ID] list of members to join through; @NODE-ID (64 hex digits) pins the key that must answer.") var bootstrap: String?
        @Option(help: "File with this mesh's 32-byte shared key (raw or 64 hex digits); without it the node joins the open mesh.") var meshKey: String?
        @Option(help: "JSON configuration file.") var config: String?
        @Option(help: "Override the detected device class: server, desktop, laptop, phone-class.") var deviceClass: String?
        @Option(help: "SWIM protocol period in milliseconds (default 1000).") var periodMs: UInt64?
        @Option(help: "Jobs from peers to run at once; more are refused as busy (default 1).") var maxJobs: Int?
        @Option(help: "Disk the blob store may use, in GiB; unpinned blobs are evicted least recently used first (default 20).") var blobQuota: Double?
        @Option(help: "Cap on blob bytes served to peers, in MB/s, all peers together (default: no cap).") var uploadLimit: Double?
        @Option(help: "Kernel threads each job's model work uses (default: one per core). Give each of several nodes on one machine a share of its cores.") var threads: Int?
        @Option(help: "Serve the OpenAI-compatible API, /metrics and the status page on HOST:PORT (PORT alone: 127.0.0.1:PORT; port 0 picks a free one).") var api: String?
        @Option(help: "File with the key every /v1/ request must send as 'Authorization: Bearer KEY'.") var apiKeyFile: String?
        @Flag(help: .hidden) var allowFaults = false
        @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            var configuration = try config.map(NodeConfiguration.load(from:)) ?? NodeConfiguration()
            if let listen { configuration.listen = try HostPort(parsing: listen) }
            if let advertise { configuration.advertise = try HostPort(parsing: advertise) }
            if let bootstrap {
                configuration.bootstrap = try bootstrap.split(separator: ",").map { try BootstrapPeer(parsing: String($0)) }
            }
            if let meshKey { configuration.meshKeyFile = meshKey }
            if let api {
                // A bare port means loopback: the API is exposed beyond it only when asked.
                configuration.api = try Int(api).map { HostPort(host: "127.0.0.1", port: $0) } ?? HostPort(parsing: api)
            }
            if let apiKeyFile { configuration.apiKeyFile = apiKeyFile }
            if configuration.apiKeyFile != nil && configuration.api == nil {
                throw ValidationError("--api-key-file needs --api HOST:PORT")
            }
            _ = try configuration.apiKey()
            _ = try configuration.gossipEndpoint()
            _ = try configuration.meshID()
            if let deviceClass { configuration.deviceClass = deviceClass }
            if let periodMs { configuration.protocolPeriodMillis = max(periodMs, 50) }
            _ = try configuration.deviceClassOverride()
            if let maxJobs {
                guard maxJobs >= 1 else { throw ValidationError("--max-jobs must be at least 1") }
                configuration.maxJobs = maxJobs
            }
            if let blobQuota {
                guard blobQuota > 0 else { throw ValidationError("--blob-quota must be positive (GiB)") }
                configuration.blobQuotaBytes = UInt64(blobQuota * 1_073_741_824)
            }
            if let uploadLimit {
                guard uploadLimit > 0 else { throw ValidationError("--upload-limit must be positive (MB/s)") }
                configuration.uploadBytesPerSecond = uploadLimit * 1e6
            }
            // Fault injection for tests of verification only: both the hidden flag and the
            // variable must be set, so no configuration file can turn it on by accident.
            if let threads {
                guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
                configuration.kernelThreads = threads
            }
            if allowFaults, let fault = ProcessInfo.processInfo.environment["TERN_FAULT"] {
                guard let trainFault = TrainFault(rawValue: fault) else {
                    throw ValidationError("unknown TERN_FAULT '\(fault)'; known: \(TrainFault.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                configuration.trainFault = trainFault
            }
            guard let level = Logger.Level(rawValue: logLevel) else {
                throw ValidationError("unknown log level '\(logLevel)'")
            }
            var logger = Logger(label: "tern.node") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = level
            try await NodeDaemon.run(directory: data.directory, configuration: configuration, logger: logger)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the running daemon's identity, address and mesh view.")

        @Flag(help: "Print JSON instead of text.") var json = false
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            let s = try await ControlClient(directory: data.directory).status()
            if json {
                print(String(decoding: try ControlJSON.encoder.encode(s), as: UTF8.self))
                return
            }
            print("""
                node        \(s.fingerprint)  (\(s.nodeID))
                version     \(s.version)
                gossip      \(s.gossipAddress)
                incarnation \(s.incarnation)
                members     \(s.membersAlive) alive, \(s.membersSuspect) suspect, \(s.membersDead) dead
                uptime      \(String(format: "%.0f", s.uptimeSeconds)) s
                data        \(s.dataDirectory)
                dropped     \(s.dropped.isEmpty ? "none" : s.dropped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                """)
        }
    }
}
