import ArgumentParser
import TernNode

/// `--data DIR`, shared by every command that works on a node's data directory.
struct DataDirectoryOption: ParsableArguments {
    @Option(name: .customLong("data"),
            help: "The node's data directory (identity, ledger, control token). Default: $TERN_DATA or ~/.local/share/tern.")
    var path: String?

    var directory: NodeDirectory { path.map(NodeDirectory.init) ?? .default }
}
