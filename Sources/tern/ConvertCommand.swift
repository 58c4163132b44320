import ArgumentParser
import Foundation
import TernModel

extension TernaryFormat: ExpressibleByArgument {}

/// `tern convert IN OUT --ternary`: absmean-ternarize the block projections of a llama or
/// bitnet model (any stored type) and write a new GGUF; everything else is copied.
struct ConvertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a model: --ternary rewrites its block projections as BitNet b1.58 ternary weights.",
        discussion: """
            Each of attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up and ffn_down becomes \
            γ·clamp(round(W/γ), −1, 1) with γ = mean|W| of the tensor. Embeddings, norms, the \
            output head, the tokenizer and all other metadata are copied unchanged. Formats: \
            tq2_0 and tq1_0 (llama.cpp; rows must be multiples of 256), i2_s (bitnet.cpp; any \
            row length), native (tq2_0 when the rows allow it, else i2_s).
            """
    )

    @Argument(help: "The model to convert (.gguf).")
    var input: String

    @Argument(help: "Where to write the converted model (.gguf).")
    var output: String

    @Flag(help: "Ternarize the block projections (absmean, per tensor).")
    var ternary = false

    @Option(help: "Storage of the ternary projections: \(TernaryFormat.allCases.map(\.rawValue).joined(separator: "|")).")
    var format: TernaryFormat = .native

    func validate() throws {
        guard ternary else { throw ValidationError("say what to convert to: --ternary is the conversion tern supports") }
        guard URL(fileURLWithPath: input).standardizedFileURL != URL(fileURLWithPath: output).standardizedFileURL else {
            throw ValidationError("the output must be a different file than the input")
        }
    }

    func run() async throws {
        let file = try GGUFFile(path: input)
        let stderr = FileHandle.standardError
        let writer = try TernaryConverter(format: format).convert(file) { step in
            let action = step.ternarized ? "ternarized" : "copied"
            stderr.write(Data("\r[\(step.index)/\(step.count)] \(action) \(step.tensor)\u{1B}[K".utf8))
        }
        stderr.write(Data("\nwriting \(output)\n".utf8))
        try writer.write(to: output)
        let types = Dictionary(grouping: writer.tensors, by: \.type).map { "\($0.value.count) \($0.key)" }.sorted()
        print("wrote \(output): \(writer.tensors.count) tensors (\(types.joined(separator: ", ")))")
    }
}
