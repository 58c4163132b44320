import ArgumentParser
import Foundation
import TernNode

/// `tern node …`: create a node identity, run the daemon, ask it how it is.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Start a node daemon and inspect it.",
        subcommands: [Status.self]
    )

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
                """)
        }
    }
}
