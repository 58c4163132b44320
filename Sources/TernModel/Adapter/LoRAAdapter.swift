import Foundation

/// The projections of a transformer block that a LoRA adapter can attach to. The raw value
/// is the name users type (`--modules attn_q,attn_v`); `tensorName` is the GGUF name of the
/// base weight inside `blk.N.` (llama.cpp's names).
public enum LoRATarget: String, CaseIterable, Sendable, Codable, Hashable {
    case attentionQuery = "attn_q"
    case attentionKey = "attn_k"
    case attentionValue = "attn_v"
    case attentionOutput = "attn_o"
    case feedForwardGate = "ffn_gate"
    case feedForwardUp = "ffn_up"
    case feedForwardDown = "ffn_down"

    /// `attn_output` for `attn_o`; the other names are the same in GGUF.
    public var tensorName: String { self == .attentionOutput ? "attn_output" : rawValue }

    /// The four attention projections: the default set for fine-tuning.
    public static let attention: [LoRATarget] = [.attentionQuery, .attentionKey, .attentionValue, .attentionOutput]

    /// Parses `attn_q,attn_v` (also accepts GGUF's `attn_output`); throws naming the bad entry.
    public static func parseList(_ text: String) throws -> [LoRATarget] {
        try text.split(separator: ",").map { part in
            let name = part.trimmingCharacters(in: .whitespaces)
            if name == "attn_output" { return .attentionOutput }
            guard let target = LoRATarget(rawValue: name) else { throw LoRAError.unknownTarget(name) }
            return target
        }
    }
}

/// The low-rank update of one projection: ΔW = scale · B · A, with A rank×inputs and
/// B outputs×rank, both row-major float32.
public struct LoRAWeights: Sendable, Equatable {
    public let inputs: Int
    public let outputs: Int
    public let rank: Int
    /// rank × inputs, row-major.
    public var a: [Float]
    /// outputs × rank, row-major.
    public var b: [Float]

    public init(inputs: Int, outputs: Int, rank: Int, a: [Float], b: [Float]) throws {
        guard a.count == rank * inputs, b.count == outputs * rank else {
            throw LoRAError.shapeMismatch("A has \(a.count) values (expected \(rank)×\(inputs)), "
                + "B has \(b.count) values (expected \(outputs)×\(rank))")
        }
        self.inputs = inputs
        self.outputs = outputs
        self.rank = rank
        self.a = a
        self.b = b
    }

    /// A fresh pair as LoRA starts training: B = 0 (so the adapter is a no-op), A uniform in
    /// ±1/√inputs (PEFT's Kaiming-uniform bound), drawn from `random`.
    public static func initial(inputs: Int, outputs: Int, rank: Int, random: inout RandomSource) -> LoRAWeights {
        let bound = 1 / Float(inputs).squareRoot()
        let a = (0..<(rank * inputs)).map { _ in Float(random.nextUnit() * 2 - 1) * bound }
        return try! LoRAWeights(inputs: inputs, outputs: outputs, rank: rank, a: a,
                                b: [Float](repeating: 0, count: outputs * rank))
    }
}

/// Where one pair of adapter matrices attaches: a block and one of its projections.
public struct LoRASite: Hashable, Sendable, Comparable {
    public let layer: Int
    public let target: LoRATarget

    public init(layer: Int, target: LoRATarget) {
        self.layer = layer
        self.target = target
    }

    /// `blk.N.attn_q.weight`: the base tensor the pair modifies.
    public var baseTensorName: String { "blk.\(layer).\(target.tensorName).weight" }

    public static func < (l: LoRASite, r: LoRASite) -> Bool {
        (l.layer, LoRATarget.allCases.firstIndex(of: l.target)!) < (r.layer, LoRATarget.allCases.firstIndex(of: r.target)!)
    }
}

/// A LoRA adapter: W' = W + (alpha / rank) · B · A on each site it holds. The base model
/// stays frozen in its stored form; the adapter is applied unmerged.
public struct LoRAAdapter: Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    public var weights: [LoRASite: LoRAWeights]

    public init(rank: Int, alpha: Float, weights: [LoRASite: LoRAWeights] = [:]) {
        self.rank = rank
        self.alpha = alpha
        self.weights = weights
    }

    /// alpha / rank: the factor applied to B·A.
    public var scale: Float { alpha / Float(rank) }

    /// The sites in a stable order (layer, then projection order of `LoRATarget`).
    public var sites: [LoRASite] { weights.keys.sorted() }
}

public enum LoRAError: Error, CustomStringConvertible, Equatable {
    case unknownTarget(String)
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case .unknownTarget(let name):
            "unknown LoRA module '\(name)': expected one of \(LoRATarget.allCases.map(\.rawValue).joined(separator: ", "))"
        case .shapeMismatch(let detail): "LoRA shape mismatch: \(detail)"
        }
    }
}
