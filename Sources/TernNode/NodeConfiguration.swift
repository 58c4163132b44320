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
    /// Members to join through at start (any one that answers is enough).
    public var bootstrap: [HostPort] = []
    /// Overrides the detected device class: server, desktop, laptop or phone-class.
    public var deviceClass: String?
    /// SWIM protocol period. Shorter detects failures sooner at more traffic.
    public var protocolPeriodMillis: UInt64 = 1_000
    /// Control API port on 127.0.0.1; 0 picks a free one (written to control.json).
    public var controlPort = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case listen, bootstrap, deviceClass, protocolPeriodMillis, controlPort
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        listen = try c.decodeIfPresent(HostPort.self, forKey: .listen) ?? listen
        bootstrap = try c.decodeIfPresent([HostPort].self, forKey: .bootstrap) ?? bootstrap
        deviceClass = try c.decodeIfPresent(String.self, forKey: .deviceClass)
        protocolPeriodMillis = try c.decodeIfPresent(UInt64.self, forKey: .protocolPeriodMillis) ?? protocolPeriodMillis
        controlPort = try c.decodeIfPresent(Int.self, forKey: .controlPort) ?? controlPort
    }

    public static func load(from path: String) throws -> NodeConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw NodeError.cannotRead(path) }
        do {
            return try JSONDecoder().decode(NodeConfiguration.self, from: data)
        } catch {
            throw NodeError.badConfiguration(path: path, reason: "\(error)")
        }
    }

    /// The device class override, validated.
    public func deviceClassOverride() throws -> DetectedHardware.DeviceClass? {
        guard let deviceClass else { return nil }
        let wanted = deviceClass.lowercased().replacingOccurrences(of: "-", with: "")
        guard let parsed = DetectedHardware.DeviceClass.allCases.first(where: { $0.rawValue.lowercased() == wanted }) else {
            throw NodeError.badConfiguration(
                path: "deviceClass",
                reason: "'\(deviceClass)' is not one of server, desktop, laptop, phone-class")
        }
        return parsed
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
