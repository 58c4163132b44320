import ArgumentParser
import Foundation
import TernMesh
import TernNode

/// `tern blob …`: the running daemon's content-addressed store of models, datasets and
/// adapters, and fetching blobs from the mesh.
struct BlobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blob",
        abstract: "Add, fetch, list and remove content-addressed blobs (talks to the running daemon).",
        discussion: """
            A blob's id is the BLAKE2b-256 hash of its manifest: its size and the hash of every
            1 MiB chunk. Fetching verifies each chunk as it arrives, pulls from every peer that
            holds the blob at once, and resumes where an interrupted fetch stopped.
            """,
        subcommands: [Add.self, Get.self, List.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a local file as a blob and print its id.",
            discussion: "Models are referenced where they lie (and re-verified if the file changes); other kinds are copied into the store.")

        @Argument(help: "The file to add.") var file: String
        @Option(help: "What the file holds: model, dataset, adapter or checkpoint.") var kind = "model"
        @Option(help: "A name to show in listings (default: the file name).") var name: String?
        @Flag(help: "Reference the file where it lies instead of copying it (the default for models; the file must then stay unchanged).") var reference = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var data: DataDirectoryOption

        func validate() throws {
            guard BlobKind(name: kind) != nil else { throw ValidationError("--kind must be model, dataset, adapter or checkpoint") }
        }

        func run() async throws {
            let path = URL(fileURLWithPath: file).standardizedFileURL.path
            let info = try await ControlClient(directory: data.directory).addBlob(
                BlobAddRequest(path: path, kind: kind, name: name ?? URL(fileURLWithPath: file).lastPathComponent,
                               reference: reference ? true : nil))
            if json {
                print(String(decoding: try ControlJSON.encoder.encode(info), as: UTF8.self))
            } else {
                print("\(info.id.hex)  \(info.kind)  \(ByteCount.text(info.size))  \(info.name ?? "")")
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch a blob from the mesh into the store, optionally copying it out.")

        @Argument(help: "The blob id (64 hex digits).") var id: String
        @Option(help: "Copy the finished blob to this file.") var out: String?
        @Option(help: "Kind to record if the blob is new here: model, dataset, adapter or checkpoint.") var kind = "model"
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var data: DataDirectoryOption

        func validate() throws {
            guard BlobID(hex: id) != nil else { throw ValidationError("a blob id is 64 hex digits, got '\(id)'") }
        }

        func run() async throws {
            let out = self.out.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            let report = try await ControlClient(directory: data.directory).getBlob(
                BlobGetRequest(id: id, out: out, kind: kind))
            if json {
                print(String(decoding: try ControlJSON.encoder.encode(report), as: UTF8.self))
                return
            }
            print("""
                blob      \(report.id.hex)
                size      \(ByteCount.text(report.size))
                fetched   \(report.chunksFetched) chunks in \(String(format: "%.2f", report.seconds)) s (\(String(format: "%.0f", report.megabytesPerSecond)) MB/s); \(report.chunksAlreadyHeld) already held
                from      \(report.servedBy.isEmpty ? "-" : report.servedBy.joined(separator: ", "))
                """)
            if report.badChunks > 0 { print("bad       \(report.badChunks) corrupt chunk(s) refused") }
            for (peer, reason) in report.failedHolders.sorted(by: { $0.key < $1.key }) { print("dropped   \(peer): \(reason)") }
            if let out { print("wrote     \(out)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the blobs this node holds, complete or partial.")

        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            let blobs = try await ControlClient(directory: data.directory).blobs()
            if json {
                print(String(decoding: try ControlJSON.encoder.encode(blobs), as: UTF8.self))
                return
            }
            var table = TablePrinter("ID", "KIND", "SIZE", "HELD", "PINNED", "NAME")
            for blob in blobs {
                table.add([blob.id.short, blob.kind.name, ByteCount.text(blob.size),
                           blob.complete ? "complete" : "\(blob.chunksHeld)/\(blob.chunkCount) chunks",
                           blob.pinned ? "yes" : "no", blob.name ?? ""])
            }
            print(table.render())
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a blob from the store (a referenced model file itself is kept).")

        @Argument(help: "The blob id (64 hex digits).") var id: String
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            try await ControlClient(directory: data.directory).removeBlob(id: id)
            print("removed \(id)")
        }
    }
}

/// Byte counts for people: "1.5 GiB", "812 KiB".
enum ByteCount {
    static func text(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
