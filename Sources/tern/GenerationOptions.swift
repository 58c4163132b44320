import ArgumentParser
import TernKernels
import TernModel

/// Sampling flags shared by every command that generates text (run, chat).
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature; 0 picks the most likely token (greedy).")
    var temp: Float = SamplingConfiguration().temperature

    @Option(help: "Keep the K most likely tokens (0 disables).")
    var topK = SamplingConfiguration().topK

    @Option(help: "Keep the smallest set of tokens whose probability reaches P (1 disables).")
    var topP: Float = SamplingConfiguration().topP

    @Option(help: "Drop tokens less likely than M × the best token's probability (0 disables).")
    var minP: Float = SamplingConfiguration().minP

    @Option(help: "Penalty for recently seen tokens (1 disables).")
    var repeatPenalty: Float = SamplingConfiguration().repetitionPenalty

    @Option(help: "Random seed of the sampler.")
    var seed: UInt64 = 0

    var configuration: SamplingConfiguration {
        var sampling = SamplingConfiguration()
        sampling.temperature = temp
        sampling.topK = topK
        sampling.topP = topP
        sampling.minP = minP
        sampling.repetitionPenalty = repeatPenalty
        sampling.seed = seed
        return sampling
    }
}

/// Engine flags shared by the commands that run a model (run, chat, eval).
struct EngineOptions: ParsableArguments {
    @Option(help: "Kernel threads (default: one per CPU).")
    var threads: Int?

    @Option(help: "Context size in tokens (default: the model's, at most 4096).")
    var context: Int?

    /// int16 by default: it gives the float model's answers (SmolLM2 128/128 on the
    /// reference, where int8 flips near-ties such as "Paris") and still decodes faster than
    /// llama.cpp; `--precision int8` trades that for the last 10–25 % of decode speed.
    @Option(help: ArgumentHelp("How projections multiply: int16 (activations as two int8 halves: the float model's logits, decode 10–25 % slower than int8), int8 (fastest; activations rounded to int8 like llama.cpp and bitnet.cpp) or float32 (weights decoded to float; slowest).", valueName: "int16|int8|float32"))
    var precision: MatmulPrecision = .int16Activations

    @Flag(help: "Same as --precision float32.")
    var float32 = false

    @Option(help: "A GGUF LoRA adapter to apply (unmerged) on top of the model.")
    var lora: String?

    @Flag(help: "Repack the weights at load without reading or writing the layout cache ($TERN_LAYOUT_CACHE, default ~/.cache/tern/layouts; TERN_LAYOUT_CACHE=off also disables it).")
    var noLayoutCache = false

    func validate() throws {
        if float32, precision != .int16Activations, precision != .float32 {
            throw ValidationError("--float32 contradicts --precision \(precision.rawValue)")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let context, context < 1 { throw ValidationError("--context must be at least 1, got \(context)") }
    }

    /// The model of `file`, with the `--lora` adapter attached when one was given; its
    /// engine layout comes from the layout cache unless `--no-layout-cache`.
    func model(file: GGUFFile) throws -> TransformerModel {
        try TransformerModel(file: file, adapter: try lora.map { try LoRAAdapterFile.read(path: $0) },
                             pool: ThreadPool(threads: threads), layoutCache: noLayoutCache ? nil : LayoutCache.forCommand)
    }

    /// The precision chosen by `--precision` or `--float32`.
    var matmulPrecision: MatmulPrecision { float32 ? .float32 : precision }

    /// `--context`, else `fallback`, else the model's own (at most 4096).
    func contextLength(for model: TransformerModel, fallback: Int? = nil) -> Int {
        context ?? fallback ?? min(model.parameters.contextLength, 4096)
    }

    /// A session on its own thread pool; `contextLength` defaults to `contextLength(for:)`.
    func session(for model: TransformerModel, contextLength: Int? = nil) -> InferenceSession {
        InferenceSession(model: model, contextLength: contextLength ?? self.contextLength(for: model),
                         pool: ThreadPool(threads: threads), precision: matmulPrecision)
    }
}

extension MatmulPrecision: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(rawValue: argument)
    }
}
