import ArgumentParser
import Foundation
import TernKernels
import TernModel

/// `tern model synth --preset NAME OUT`: writes a random-weight `bitnet` model of a real
/// checkpoint's shape (for `tern bench model`), with SmolLM2's vocabulary and tokenizer.
struct ModelSynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a random-weight bitnet model of a named shape (for benchmarks)."
    )

    @Option(help: "Shape: \(SyntheticModelPreset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preset: String

    @Argument(help: "Output .gguf path.")
    var output: String

    @Option(help: "Ternary encoding of the projections: \(TernaryEncoding.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format = "tq2_0"

    @Option(help: "Random seed (the same seed writes the same file).")
    var seed: UInt64 = 1

    @Option(help: "GGUF whose tokenizer (and vocabulary size) the model copies (default: SmolLM2-135M-Instruct.Q4_1.gguf in $TERN_MODELS or ~/.cache/tern/models).")
    var tokenizerFrom: String?

    func run() throws {
        guard let shape = SyntheticModelPreset(rawValue: preset) else {
            throw ValidationError("unknown preset '\(preset)'; choose one of \(SyntheticModelPreset.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let encoding = TernaryEncoding(rawValue: format) else {
            throw ValidationError("unknown format '\(format)'; choose one of \(TernaryEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let tokenizerPath = tokenizerFrom ?? Self.defaultTokenizerPath
        guard FileManager.default.fileExists(atPath: tokenizerPath) else { throw SynthesisError.tokenizerMissing(path: tokenizerPath) }
        let spec = try SyntheticModelSpec(preset: shape, encoding: encoding, seed: seed,
                                          tokenizer: try GGUFFile(path: tokenizerPath), tokenizerPath: tokenizerPath)
        let started = Date()
        var bytes = 0
        let writer = try ModelSynthesizer.makeWriter(spec) { done, total, tensor in
            bytes += tensor.rows * tensor.rowLength
            Self.status(String(format: "synth %@: %d/%d tensors, %@ (%.0f s)", shape.rawValue, done, total, tensor.name,
                               Date().timeIntervalSince(started)))
        }
        Self.status("writing \(output)")
        try writer.write(to: output)
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        Self.status(String(format: "wrote %@: %.1f MB, %ld weights, %.0f s", output, Double(size) / 1e6, bytes,
                           Date().timeIntervalSince(started)), final: true)
    }

    static var defaultTokenizerPath: String {
        let env = ProcessInfo.processInfo.environment["TERN_MODELS"] ?? ""
        let directory = env.isEmpty ? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tern/models").path : env
        return directory + "/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    /// A live status line on a terminal (quiet otherwise, except the final summary).
    private static func status(_ text: String, final: Bool = false) {
        let terminal = isatty(STDERR_FILENO) != 0
        guard terminal || final else { return }
        FileHandle.standardError.write(Data(((terminal ? "\r\u{1B}[K" : "") + text + (final ? "\n" : "")).utf8))
    }
}
