import ArgumentParser
import Foundation
import TernNode

/// `tern job run …`: send one job to a named peer (a debugging tool: fine-tune dispatch and
/// serving send jobs themselves).
struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Run a job on a named peer (talks to the running daemon).",
        subcommands: [Run.self]
    )

    /// The worker, given before or after the job kind (`tern job run --peer X generate …`).
    struct Target: ParsableArguments {
        @Option(help: "The worker: a live peer's node id or fingerprint, or a prefix of either (4+ hex digits).") var peer: String
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a job on a peer and print its output and signed receipt.",
            subcommands: [Generate.self]
        )

        @OptionGroup var target: Target

        struct Generate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Generate text with a model (by blob id) on a peer.",
                discussion: """
                    The peer fetches the model from this node or any holder if it lacks it, runs
                    the job on its compute threads, and returns the text with a receipt it signed;
                    this node checks the receipt, countersigns it, and records both in its ledger.
                    With --temp 0 the text equals `tern run --temp 0` of the same prompt.
                    """)

            @OptionGroup var target: Target
            @Option(help: "The model's blob id.") var model: String
            @Option(name: [.short, .customLong("prompt")], help: "The prompt text.") var prompt: String
            @Option(name: [.customShort("n"), .customLong("n-predict")], help: "Most tokens to generate.") var tokens: UInt32 = 128
            @Option(help: "Sampling temperature; 0 is greedy.") var temp: Float = 0
            @Option(help: "Random seed of the sampler.") var seed: UInt64 = 0
            @Flag(help: "Wrap the prompt as a user message with the model's chat template.") var chat = false
            @Flag(help: "Print JSON (text, receipt fields and the countersigned receipt's bytes).") var json = false
            @OptionGroup var data: DataDirectoryOption

            func run() async throws {
                let reply = try await ControlClient(directory: data.directory).generate(GenerateJobRequest(
                    peer: target.peer, model: model, prompt: prompt, maxTokens: tokens, temperature: temp, seed: seed, chat: chat))
                if json {
                    print(String(decoding: try ControlJSON.encoder.encode(reply), as: UTF8.self))
                    return
                }
                print(chat ? reply.text : prompt + reply.text)
                FileHandle.standardError.write(Data("""
                    [job \(reply.jobID) on \(reply.worker.prefix(16)): \(reply.tokens) tokens in \(reply.wallMillis) ms; \
                    receipt countersigned, chain root \(reply.stepChainRoot.prefix(16))]\n
                    """.utf8))
            }
        }
    }
}
