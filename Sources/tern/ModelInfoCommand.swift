import ArgumentParser
import Foundation
import TernModel

/// `tern model info FILE [--json]`: architecture, hyper-parameters, tokenizer, chat
/// template and tensor types of a GGUF file.
struct ModelInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a GGUF file's architecture, hyper-parameters, tokenizer and tensors."
    )

    @Argument(help: "Path to a .gguf file.")
    var file: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let summary = ModelSummary(file: try GGUFFile(path: file))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print(Self.render(summary, path: file))
        }
    }

    static func render(_ s: ModelSummary, path: String) -> String {
        var lines: [String] = []
        func row(_ label: String, _ value: String) { lines.append(label.padding(toLength: 22, withPad: " ", startingAt: 0) + value) }
        row("file", "\(path) (\(bytes(s.fileSize)))")
        row("gguf", "v\(s.ggufVersion), alignment \(s.alignment), \(s.metadataCount) metadata keys")
        if let name = s.name { row("name", name) }
        if let type = s.fileType { row("type", type) }
        row("architecture", s.architecture ?? "(none)")
        if let hp = s.hyperParameters {
            row("embedding length", "\(hp.embeddingLength)")
            row("blocks", "\(hp.blockCount)")
            row("feed-forward length", "\(hp.feedForwardLength) (\(hp.hiddenActivation.rawValue))")
            row("heads", "\(hp.headCount) query, \(hp.headCountKV) key/value, dimension \(hp.headDimension)")
            row("rope", "base \(hp.ropeFreqBase), \(hp.ropeDimensionCount) dimensions")
            row("rms norm epsilon", "\(Float(hp.rmsNormEpsilon))")  // stored as f32
            row("context length", "\(hp.contextLength)")
            row("vocabulary", "\(hp.vocabularySize)")
            if let tied = s.tiedEmbeddings { row("output", tied ? "tied to token embedding" : "separate output.weight") }
        } else if let error = s.hyperParametersError {
            row("hyper-parameters", "unavailable: \(error)")
        }
        if let t = s.tokenizer {
            let pre = t.preTokenizer.map { ", pre-tokenizer \($0)" } ?? ""
            let ids = [t.bosID.map { "bos \($0)" }, t.eosID.map { "eos \($0)" }].compactMap { $0 }.joined(separator: ", ")
            row("tokenizer", "\(t.model)\(pre), \(t.vocabularySize) tokens, \(ids)\(t.addsBOS ? ", adds BOS" : "")")
        } else if let error = s.tokenizerError {
            row("tokenizer", "unavailable: \(error)")
        }
        row("chat template", s.chatTemplate ?? "unavailable: \(s.chatTemplateError ?? "")")
        row("tensors", "\(s.tensorCount) (\(s.parameterCount) parameters)")
        for t in s.tensorTypes {
            row("  " + t.type, "\(t.count) tensor\(t.count == 1 ? "" : "s"), \(bytes(t.bytes))")
        }
        return lines.joined(separator: "\n")
    }

    private static func bytes(_ n: Int) -> String {
        let mib = Double(n) / 1_048_576
        return mib >= 1 ? String(format: "%.1f MiB", mib) : "\(n) bytes"
    }
}
