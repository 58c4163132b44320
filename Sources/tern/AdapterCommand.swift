import ArgumentParser
import Foundation
import TernKernels
import TernModel

/// `tern adapter …`: inspect, merge and export LoRA adapters.
struct AdapterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapter",
        abstract: "Inspect, merge and export GGUF LoRA adapters.",
        subcommands: [AdapterInfoCommand.self, AdapterMergeCommand.self, AdapterExportPEFTCommand.self]
    )
}

/// What `tern adapter info` shows.
struct AdapterSummary: Codable {
    let path: String
    let name: String?
    let architecture: String
    let rank: Int
    let alpha: Float
    let scale: Float
    let modules: [String]
    let layers: [Int]
    let pairs: Int
    let parameters: Int

    init(_ file: LoRAAdapterFile, path: String) {
        let adapter = file.adapter
        self.path = path
        name = file.name
        architecture = file.architecture
        rank = adapter.rank
        alpha = adapter.alpha
        scale = adapter.scale
        modules = LoRATarget.allCases.filter { t in adapter.sites.contains { $0.target == t } }.map(\.rawValue)
        layers = Array(Set(adapter.sites.map(\.layer))).sorted()
        pairs = adapter.weights.count
        parameters = adapter.weights.values.reduce(0) { $0 + $1.a.count + $1.b.count }
    }
}

struct AdapterInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show a LoRA adapter's rank, alpha, modules and layers.")

    @Argument(help: "Path to a GGUF LoRA adapter.")
    var adapter: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let summary = AdapterSummary(try LoRAAdapterFile.open(path: adapter), path: adapter)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            return
        }
        func row(_ label: String, _ value: String) { print(label.padding(toLength: 14, withPad: " ", startingAt: 0) + value) }
        row("file", summary.path)
        if let name = summary.name { row("name", name) }
        row("architecture", summary.architecture)
        row("rank", "\(summary.rank)")
        row("alpha", "\(summary.alpha) (scale \(summary.scale))")
        row("modules", summary.modules.joined(separator: ", "))
        let layers = summary.layers
        row("layers", layers == Array((layers.first ?? 0)...(layers.last ?? 0)) ? "\(layers.first!)–\(layers.last!) (\(layers.count))"
            : layers.map(String.init).joined(separator: ","))
        row("pairs", "\(summary.pairs) (\(summary.parameters) parameters)")
    }
}

struct AdapterMergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Write a copy of MODEL with ADAPTER merged into its weights.",
        discussion: """
            Each modified projection becomes W + (alpha/rank)·B·A stored as F16 (or F32 with
            --f32): merged weights are no longer ternary or quantized, so the file grows and
            those projections run on the float kernels. Other tensors are copied unchanged.
            """
    )

    @Argument(help: "Path to the base .gguf model.")
    var model: String

    @Argument(help: "Path to the GGUF LoRA adapter.")
    var adapter: String

    @Argument(help: "Path of the merged .gguf to write.")
    var out: String

    @Flag(help: "Store the merged projections as F32 instead of F16.")
    var f32 = false

    func run() async throws {
        let base = try GGUFFile(path: model)
        let writer = try LoRAMerge.merged(base: base, adapter: try LoRAAdapterFile.read(path: adapter), storage: f32 ? .f32 : .f16)
        try writer.write(to: out)
        print("wrote \(out): \(writer.tensors.count) tensors")
    }
}

struct AdapterExportPEFTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-peft",
        abstract: "Export a LoRA adapter as a Hugging Face PEFT directory (adapter_model.safetensors + adapter_config.json).",
        discussion: """
            The base model is needed because llama.cpp stores a llama model's Q and K rows in
            another order than Hugging Face; the export puts them back.
            """
    )

    @Argument(help: "Path to the GGUF LoRA adapter.")
    var adapter: String

    @Argument(help: "Directory to write.")
    var directory: String

    @Option(help: "The base .gguf model the adapter was trained on.")
    var base: String

    @Option(help: "base_model_name_or_path for adapter_config.json (default: the model's general.name).")
    var baseModelName: String?

    func run() async throws {
        let export = try PEFTExport(adapter: try LoRAAdapterFile.read(path: adapter), baseModel: try GGUFFile(path: base),
                                    baseModelName: baseModelName)
        try export.write(to: directory)
        print("wrote \(directory)/adapter_model.safetensors and adapter_config.json (\(export.adapter.weights.count) pairs)")
    }
}
