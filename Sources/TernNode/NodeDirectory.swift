import Foundation

/// The files a node keeps in its data directory. One place names them so the daemon and
/// the CLI (which talks to a running daemon) agree.
public struct NodeDirectory: Sendable {
    public let url: URL

    public init(_ path: String) {
        url = URL(fileURLWithPath: (path as NSString).expandingTildeInPath, isDirectory: true)
    }

    /// `$TERN_DATA` or `~/.local/share/tern`.
    public static var `default`: NodeDirectory {
        NodeDirectory(ProcessInfo.processInfo.environment["TERN_DATA"] ?? "~/.local/share/tern")
    }

    public var identityFile: URL { url.appendingPathComponent("identity.key") }
    public var ledgerFile: URL { url.appendingPathComponent("ledger.sqlite") }
    public var controlTokenFile: URL { url.appendingPathComponent("control.token") }
    /// The blob store: complete blobs and downloads in progress (`BlobStore`).
    public var blobsDirectory: URL { url.appendingPathComponent("blobs", isDirectory: true) }
    /// Written by a running daemon: where its control API listens, and its pid.
    public var controlEndpointFile: URL { url.appendingPathComponent("control.json") }
    /// Written by a daemon started with `--api`: where its public API listens (`APIEndpoint`).
    public var apiEndpointFile: URL { url.appendingPathComponent("api.json") }

    /// Creates the directory (mode 0700) if it does not exist.
    public func create() throws {
        try FileManager.default.createDirectory(
            at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
}
