import Foundation

/// Exports an adapter as a Hugging Face PEFT LoRA directory: `adapter_model.safetensors`
/// (keys `base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight`, A as
/// [rank, inputs] and B as [outputs, rank], F32) and `adapter_config.json`.
///
/// llama.cpp's converter permutes the rows of a `llama` model's Q and K projections (it
/// rotates adjacent pairs where Hugging Face rotates halves), and converts adapters the same
/// way, so the rows of B for attn_q/attn_k are put back in Hugging Face's order here. That
/// needs the head counts of the base model. `bitnet` models keep Hugging Face's order.
public struct PEFTExport: Sendable {
    public let adapter: LoRAAdapter
    /// `base_model_name_or_path` in the config (a Hugging Face id or a path).
    public let baseModelName: String
    /// Query and key/value head counts of a `llama` base, whose Q/K rows are un-permuted;
    /// nil for architectures stored in Hugging Face's order.
    public let llamaHeads: (query: Int, keyValue: Int)?
    /// `lora_dropout` in the config: the dropout the adapter was trained with (a GGUF adapter
    /// does not record it, so only a training run that knows it sets it).
    public var loraDropout: Float = 0

    public init(adapter: LoRAAdapter, baseModelName: String, llamaHeads: (query: Int, keyValue: Int)?) {
        self.adapter = adapter
        self.baseModelName = baseModelName
        self.llamaHeads = llamaHeads
    }

    /// For an adapter of `baseModel`: checks that it fits, and reads the architecture,
    /// head counts and name from the model file.
    public init(adapter: LoRAAdapter, baseModel: GGUFFile, baseModelName: String? = nil) throws {
        try LoRAAdapterFile.validate(adapter, against: baseModel)
        let parameters = try ModelHyperParameters(metadata: baseModel.metadata)
        let name = baseModelName ?? baseModel.metadata["general.name"]?.stringValue ?? "unknown"
        self.init(adapter: adapter, baseModelName: name,
                  llamaHeads: parameters.architecture == .llama ? (parameters.headCount, parameters.headCountKV) : nil)
    }

    /// PEFT's module path inside a block for each target.
    public static func moduleName(_ target: LoRATarget) -> String {
        switch target {
        case .attentionQuery: "self_attn.q_proj"
        case .attentionKey: "self_attn.k_proj"
        case .attentionValue: "self_attn.v_proj"
        case .attentionOutput: "self_attn.o_proj"
        case .feedForwardGate: "mlp.gate_proj"
        case .feedForwardUp: "mlp.up_proj"
        case .feedForwardDown: "mlp.down_proj"
        }
    }

    public static func key(_ site: LoRASite, half: String) -> String {
        "base_model.model.model.layers.\(site.layer).\(moduleName(site.target)).lora_\(half).weight"
    }

    public func safetensors() throws -> [UInt8] {
        var writer = SafeTensorsWriter()
        for site in adapter.sites {
            let w = adapter.weights[site]!
            try writer.add(name: Self.key(site, half: "A"), shape: [w.rank, w.inputs], values: w.a)
            try writer.add(name: Self.key(site, half: "B"), shape: [w.outputs, w.rank], values: try huggingFaceB(site, w))
        }
        return try writer.serialized()
    }

    /// `adapter_config.json`: target modules are the PEFT names of the targets present.
    public func config() throws -> Data {
        let targets = LoRATarget.allCases.filter { t in adapter.sites.contains { $0.target == t } }
        let config: [String: Any] = [
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "base_model_name_or_path": baseModelName,
            "r": adapter.rank,
            "lora_alpha": Double(adapter.alpha),
            "lora_dropout": Double(loraDropout.description) ?? 0,  // 0.1, not 0.10000000149011612
            "target_modules": targets.map { String(Self.moduleName($0).split(separator: ".").last!) },
            "bias": "none",
            "fan_in_fan_out": false,
            "inference_mode": true,
            "modules_to_save": NSNull(),
        ]
        return try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
    }

    /// Writes both files into `directory` (created if missing).
    public func write(to directory: String) throws {
        let url = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Data(try safetensors()).write(to: url.appendingPathComponent("adapter_model.safetensors"), options: .atomic)
        try config().write(to: url.appendingPathComponent("adapter_config.json"), options: .atomic)
    }

    /// B with its rows in Hugging Face's order: for llama Q/K, GGUF row h·d + 2i + j holds
    /// Hugging Face row h·d + j·d/2 + i (d = head dimension, i < d/2, j ∈ {0, 1}).
    func huggingFaceB(_ site: LoRASite, _ w: LoRAWeights) throws -> [Float] {
        guard let llamaHeads, site.target == .attentionQuery || site.target == .attentionKey else { return w.b }
        let heads = site.target == .attentionQuery ? llamaHeads.query : llamaHeads.keyValue
        guard heads > 0, w.outputs % (2 * heads) == 0 else {
            throw LoRAError.shapeMismatch("\(site.baseTensorName): \(w.outputs) outputs do not split into \(heads) heads of even size")
        }
        let d = w.outputs / heads, r = w.rank
        var out = [Float](repeating: 0, count: w.b.count)
        for h in 0..<heads {
            for i in 0..<(d / 2) {
                for j in 0..<2 {
                    let gguf = h * d + 2 * i + j, hf = h * d + j * (d / 2) + i
                    out[(hf * r)..<((hf + 1) * r)] = w.b[(gguf * r)..<((gguf + 1) * r)]
                }
            }
        }
        return out
    }
}
