import ArgumentParser
import TernKernels

@main
struct Tern: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tern",
        abstract: "A peer-to-peer compute node for ternary (BitNet b1.58) language models.",
        discussion: """
            Run ternary and quantized models on this machine, fine-tune LoRA adapters, and
            join a mesh of peers that shares the work. Start with `tern bench kernels` to see
            what this machine can do.
            """,
        version: TernVersion.string,
        subcommands: [NodeCommand.self, MeshCommand.self, BlobCommand.self, JobCommand.self, LedgerCommand.self, RunCommand.self, LogitsCommand.self, ConvertCommand.self, ChatCommand.self, EvalCommand.self, DataCommand.self, FinetuneCommand.self, ModelCommand.self, AdapterCommand.self, Sim.self, Bench.self, FuzzCommand.self]
    )

    /// `--node` may come without a value for `tern run` / `tern chat` (NodeClientOptions).
    static func main() async {
        await main(NodeClientOptions.normalize(Array(CommandLine.arguments.dropFirst())))
    }
}
