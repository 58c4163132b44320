/// The transformer families Tern can run, named as in `general.architecture`.
public enum ModelArchitecture: String, Sendable, CaseIterable, Codable {
    /// SmolLM2, TinyLlama, Llama-3: adjacent-pair RoPE, SiLU-gated FFN.
    case llama
    /// BitNet b1.58: sub-norms before the output projections, NEOX RoPE.
    case bitnet
}

/// The FFN gate activation.
public enum HiddenActivation: String, Sendable, Codable {
    case silu
    /// ReLU², used by BitNet b1.58 2B-4T (`bitnet.hidden_activation = relu2`).
    case relu2
}

/// Errors in a model's metadata or tensor layout (the file itself is valid GGUF).
public enum ModelError: Error, Equatable, CustomStringConvertible {
    case unknownArchitecture(String)
    case missingKey(String)
    case badValue(key: String, reason: String)
    case missingTensor(String)
    case tensorShape(tensor: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .unknownArchitecture(let a):
            let known = ModelArchitecture.allCases.map(\.rawValue).joined(separator: ", ")
            return "unknown model architecture '\(a)' (general.architecture); supported: \(known)"
        case .missingKey(let k): return "model metadata key '\(k)' is missing"
        case .badValue(let k, let reason): return "model metadata key '\(k)' is invalid: \(reason)"
        case .missingTensor(let t): return "model tensor '\(t)' is missing"
        case .tensorShape(let t, let expected, let found):
            return "model tensor '\(t)' has shape \(found), expected \(expected)"
        }
    }
}
