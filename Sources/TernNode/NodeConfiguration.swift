import Foundation
import TernMesh

/// `host:port` as users type it (`127.0.0.1:7946`, `[::1]:7946`).
public struct HostPort: Hashable, Sendable, CustomStringConvertible, Codable {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let colon = trimmed.lastIndex(of: ":"),
              let port = Int(trimmed[trimmed.index(after: colon)...]), (0...65_535).contains(port) else {
            throw NodeError.badAddress(text)
        }
        var host = String(trimmed[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw NodeError.badAddress(text) }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// How a node daemon runs. Read from `--config FILE` (JSON, every key optional), then
/// overridden by command-line flags.
public struct NodeConfiguration: Codable, Sendable, Equatable {
    /// Gossip (UDP) and push-pull (TCP) share this address.
    public var listen = HostPort(host: "127.0.0.1", port: 7946)
    /// The address peers should use (gossiped in this node's alive record); needed when
    /// `listen` is a wildcard such as 0.0.0.0 or the node is behind NAT. An IP literal.
    public var advertise: HostPort?
    /// Members to join through at start and whenever this node has lost everyone (any one
    /// that answers is enough). `host:port@<node id hex>` pins the peer's key.
    public var bootstrap: [BootstrapPeer] = []
    /// A file holding this mesh's 32-byte shared key (raw, or 64 hex digits); without it
    /// the node joins the open mesh.
    public var meshKeyFile: String?
    /// Overrides the detected device class: server, desktop, laptop or phone-class.
    public var deviceClass: String?
    /// SWIM protocol period. Shorter detects failures sooner at more traffic.
    public var protocolPeriodMillis: UInt64 = 1_000
    /// Control API port on 127.0.0.1; 0 picks a free one (written to control.json).
    public var controlPort = 0
    /// Jobs from peers run at once; more are refused with a busy reply.
    public var maxJobs = 1
    /// Bytes the blob store may hold (unpinned blobs are evicted, least recently used
    /// first, to make room). Default 20 GiB.
    public var blobQuotaBytes: UInt64 = 20 << 30
    /// Blob bytes served to peers per second, all together; nil: no cap.
    public var uploadBytesPerSecond: Double?
    /// Kernel threads per job (`--threads`); nil: one per core.
    public var kernelThreads: Int?
    /// The public API listener (OpenAI-compatible `/v1/…`, `/metrics`, the status page);
    /// nil: none. `--api PORT` alone binds loopback.
    public var api: HostPort?
    /// A file holding the key every `/v1/…` request must present as `Authorization: Bearer`;
    /// nil: no key (fine on loopback).
    public var apiKeyFile: String?
    /// Test-only fault injection (`--allow-faults` with `TERN_FAULT=…`); never read from a
    /// configuration file.
    public var trainFault: TrainFault?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case listen, advertise, bootstrap, meshKeyFile, deviceClass, protocolPeriodMillis, controlPort
        case maxJobs, blobQuotaBytes, uploadBytesPerSecond, kernelThreads, api, apiKeyFile
    }

    /// The task plane's limits.
    /// How the API listener serves completions on the models this node holds.
    public var servingSettings: LocalServing.Settings {
        var settings = LocalServing.Settings()
        settings.kernelThreads = kernelThreads
        return settings
    }

    public var taskPlaneSettings: TaskPlaneSettings {
        var settings = TaskPlaneSettings(maxJobs: maxJobs, uploadBytesPerSecond: uploadBytesPerSecond)
        settings.kernelThreads = kernelThreads
        settings.trainFault = trainFault
        return settings
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        listen = try c.decodeIfPresent(HostPort.self, forKey: .listen) ?? listen
        advertise = try c.decodeIfPresent(HostPort.self, forKey: .advertise)
        bootstrap = try c.decodeIfPresent([BootstrapPeer].self, forKey: .bootstrap) ?? bootstrap
        meshKeyFile = try c.decodeIfPresent(String.self, forKey: .meshKeyFile)
        deviceClass = try c.decodeIfPresent(String.self, forKey: .deviceClass)
        protocolPeriodMillis = try c.decodeIfPresent(UInt64.self, forKey: .protocolPeriodMillis) ?? protocolPeriodMillis
        controlPort = try c.decodeIfPresent(Int.self, forKey: .controlPort) ?? controlPort
        maxJobs = try c.decodeIfPresent(Int.self, forKey: .maxJobs) ?? maxJobs
        blobQuotaBytes = try c.decodeIfPresent(UInt64.self, forKey: .blobQuotaBytes) ?? blobQuotaBytes
        uploadBytesPerSecond = try c.decodeIfPresent(Double.self, forKey: .uploadBytesPerSecond)
        kernelThreads = try c.decodeIfPresent(Int.self, forKey: .kernelThreads)
        api = try c.decodeIfPresent(HostPort.self, forKey: .api)
        apiKeyFile = try c.decodeIfPresent(String.self, forKey: .apiKeyFile)
    }

    /// The API key from `apiKeyFile` (surrounding whitespace trimmed), nil without one. An
    /// unreadable or empty file stops the node rather than leaving the API open.
    public func apiKey() throws -> ControlToken? {
        guard let apiKeyFile else { return nil }
        guard let data = FileManager.default.contents(atPath: apiKeyFile) else { throw NodeError.cannotRead(apiKeyFile) }
        let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty, !key.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw NodeError.badConfiguration(path: apiKeyFile, reason: "the API key file must hold one key, without spaces")
        }
        return ControlToken(value: key)
    }

    public static func load(from path: String) throws -> NodeConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw NodeError.cannotRead(path) }
        do {
            return try JSONDecoder().decode(NodeConfiguration.self, from: data)
        } catch {
            throw NodeError.badConfiguration(path: path, reason: "\(error)")
        }
    }

    /// The endpoint this node gossips for itself: `advertise`, else `listen`. It must be an
    /// IP literal that others can reach, never a wildcard.
    public func gossipEndpoint() throws -> String {
        let address = advertise ?? listen
        let text = GossipEndpoint.format(host: address.host, port: address.port)
        guard GossipEndpoint.isValid(text) else {
            let why = advertise == nil
                ? "--listen \(listen) is not an address peers can reach (a wildcard or a host name): add --advertise IP:PORT"
                : "--advertise \(address) must be an IP literal and port, not a wildcard or a host name"
            throw NodeError.badConfiguration(path: advertise == nil ? "listen" : "advertise", reason: why)
        }
        return text
    }

    /// The mesh this node belongs to: derived from the key in `meshKeyFile`, or the open mesh.
    public func meshID() throws -> MeshID {
        guard let meshKeyFile else { return .open }
        guard let data = FileManager.default.contents(atPath: meshKeyFile) else { throw NodeError.cannotRead(meshKeyFile) }
        var bytes = [UInt8](data)
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let decoded = Hex.decode(text) { bytes = decoded }
        do {
            return try MeshID(secret: bytes)
        } catch {
            throw NodeError.badConfiguration(path: meshKeyFile, reason: "\(error) (write 32 random bytes, e.g. `head -c 32 /dev/urandom > mesh.key`)")
        }
    }

    /// The device class override, validated.
    public func deviceClassOverride() throws -> DetectedHardware.DeviceClass? {
        guard let deviceClass else { return nil }
        guard let parsed = DeviceClass(name: deviceClass) else {
            throw NodeError.badConfiguration(
                path: "deviceClass",
                reason: "'\(deviceClass)' is not one of server, desktop, laptop, phone-class")
        }
        return parsed
    }
}

/// A bootstrap entry: where to join, optionally with the node id that must answer there
/// (`host:port@<64 hex digits>`), so a hijacked address cannot pose as the member.
public struct BootstrapPeer: Hashable, Sendable, CustomStringConvertible, Codable {
    public let address: HostPort
    public let nodeID: NodeID?

    public init(address: HostPort, nodeID: NodeID? = nil) {
        self.address = address
        self.nodeID = nodeID
    }

    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let at = trimmed.lastIndex(of: "@") else {
            self.init(address: try HostPort(parsing: trimmed))
            return
        }
        let idText = String(trimmed[trimmed.index(after: at)...])
        guard idText.count == 64, let bytes = Hex.decode(idText), let id = NodeID(bytes: bytes) else {
            throw NodeError.badAddress("\(text): the part after @ must be a node id (64 hex digits)")
        }
        self.init(address: try HostPort(parsing: String(trimmed[..<at])), nodeID: id)
    }

    public var description: String { nodeID.map { "\(address)@\($0.hex)" } ?? address.description }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public enum NodeError: Error, CustomStringConvertible {
    case badAddress(String)
    case cannotRead(String)
    case badConfiguration(path: String, reason: String)
    case alreadyRunning(pid: Int32, directory: String)
    case startup(String)

    public var description: String {
        switch self {
        case .badAddress(let text): "'\(text)' is not HOST:PORT (e.g. 127.0.0.1:7946)"
        case .cannotRead(let path): "cannot read \(path)"
        case .badConfiguration(let path, let reason): "bad configuration \(path): \(reason)"
        case .alreadyRunning(let pid, let dir): "a daemon (pid \(pid)) already runs with data directory \(dir)"
        case .startup(let why): "node failed to start: \(why)"
        }
    }
}
