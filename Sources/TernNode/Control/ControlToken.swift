import Foundation
import TernMesh

/// The bearer token that guards the daemon's loopback control API. It lives in a file only
/// the owner can read (0600), so any local process that can read it is the node's owner.
public struct ControlToken: Sendable, Equatable {
    public let value: String

    public init(value: String) { self.value = value }

    /// A fresh token: 32 random bytes, hex. `SystemRandomNumberGenerator` reads the kernel's
    /// CSPRNG (getrandom on Linux).
    public static func generate() -> ControlToken {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return ControlToken(value: Hex.encode(bytes))
    }

    /// Writes the token with mode 0600, replacing any previous one.
    public func write(to file: URL) throws {
        let fm = FileManager.default
        try? fm.removeItem(at: file)
        guard fm.createFile(atPath: file.path, contents: Data(value.utf8),
                            attributes: [.posixPermissions: 0o600]) else {
            throw ControlError.cannotWrite(file.path)
        }
    }

    public static func read(from file: URL) throws -> ControlToken {
        guard let data = FileManager.default.contents(atPath: file.path),
              let text = String(data: data, encoding: .utf8) else {
            throw ControlError.notRunning(file.deletingLastPathComponent().path)
        }
        return ControlToken(value: text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Compares in time independent of where the strings differ.
    public func matches(_ presented: Substring) -> Bool {
        let a = Array(value.utf8), b = Array(presented.utf8)
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

public enum ControlError: Error, CustomStringConvertible, Equatable {
    case cannotWrite(String)
    case notRunning(String)
    case unauthorized
    case daemon(status: Int, message: String)
    case unreachable(String)

    public var description: String {
        switch self {
        case .cannotWrite(let path): "cannot write \(path)"
        case .notRunning(let dir): "no node daemon is running with data directory \(dir) (start one with `tern node start`)"
        case .unauthorized: "the daemon refused the control token (is it a different node's data directory?)"
        case .daemon(let status, let message): "daemon answered \(status): \(message)"
        case .unreachable(let why): "cannot reach the node daemon: \(why)"
        }
    }
}
