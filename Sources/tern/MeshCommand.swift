import ArgumentParser
import Foundation
import TernNode

/// `tern mesh …`: ask the running daemon about, or change, its mesh membership.
struct MeshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh",
        abstract: "Join a peer mesh and list its members (talks to the running daemon).",
        subcommands: [Join.self, Peers.self]
    )

    struct Join: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the running daemon to join the mesh through a known peer.",
            discussion: "HOST:PORT is the gossip (UDP) address of any member, e.g. 127.0.0.1:7946.")

        @Argument(help: "Gossip address of a member, HOST:PORT.") var address: String
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            let reply = try await ControlClient(directory: data.directory).join(address: address)
            print(reply.message)
        }
    }

    struct Peers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the members this node knows, with their hardware profiles.")

        @Flag(help: "Print JSON instead of a table.") var json = false
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            let peers = try await ControlClient(directory: data.directory).peers()
            if json {
                print(String(decoding: try ControlJSON.encoder.encode(peers), as: UTF8.self))
                return
            }
            var table = TablePrinter("ID", "ADDRESS", "STATE", "CLASS", "CORES", "RAM", "ISA", "KERNELS", "GPUS", "GOPS", "LAST SEEN")
            for p in peers {
                table.add([
                    p.fingerprint, p.address, p.state, p.deviceClass ?? "-",
                    p.cores.map(String.init) ?? "-",
                    p.ramBytes.map { String(format: "%.1f GiB", Double($0) / 1_073_741_824) } ?? "-",
                    p.isa.isEmpty ? "-" : p.isa.joined(separator: ","),
                    p.kernelClass ?? "-",
                    p.gpus.isEmpty ? "-" : p.gpus.joined(separator: ","),
                    p.gops.map { String(format: "%.0f", $0) } ?? "-",
                    p.lastSeen.map { String(format: "%.0fs ago", -$0.timeIntervalSinceNow) } ?? "-",
                ])
            }
            print(table.render())
        }
    }
}
