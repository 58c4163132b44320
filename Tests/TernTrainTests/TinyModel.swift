import Foundation
import TernKernels
import TernTrain

/// A small random float32 model written with GGUFWriter: small enough that whole-model
/// finite differences run in milliseconds, and F32 so `.float32` precision is exact float.
enum TinyModel {
    static let vocabulary = 40

    static func make(architecture: ModelArchitecture = .llama, embedding e: Int = 16, heads: Int = 4, kvHeads: Int = 2,
                     feedForward ff: Int = 24, layers: Int = 2, relu2: Bool = false, seed: UInt64 = 7) throws -> TransformerModel {
        var random = RandomSource(seed: seed)
        var writer = try GGUFWriter()
        let arch = architecture.rawValue
        try writer.set("general.architecture", .string(arch))
        try writer.set("\(arch).embedding_length", .uint32(UInt32(e)))
        try writer.set("\(arch).block_count", .uint32(UInt32(layers)))
        try writer.set("\(arch).feed_forward_length", .uint32(UInt32(ff)))
        try writer.set("\(arch).attention.head_count", .uint32(UInt32(heads)))
        try writer.set("\(arch).attention.head_count_kv", .uint32(UInt32(kvHeads)))
        try writer.set("\(arch).vocab_size", .uint32(UInt32(vocabulary)))
        try writer.set("\(arch).context_length", .uint32(64))
        if relu2 { try writer.set("\(arch).hidden_activation", .string("relu2")) }
        func add(_ name: String, _ dims: [Int], scale: Float, offset: Float = 0) throws {
            let count = dims.reduce(1, *)
            let values = (0..<count).map { _ in offset + scale * Float(random.nextUnit() * 2 - 1) }
            try writer.addTensor(name: name, type: .f32, dimensions: dims, data: values.withUnsafeBytes { Array($0) })
        }
        let kv = kvHeads * (e / heads)
        try add("token_embd.weight", [e, vocabulary], scale: 1)
        try add("output_norm.weight", [e], scale: 0.2, offset: 1)
        try add("output.weight", [e, vocabulary], scale: 0.5)
        for i in 0..<layers {
            let p = "blk.\(i)."
            try add(p + "attn_norm.weight", [e], scale: 0.2, offset: 1)
            try add(p + "ffn_norm.weight", [e], scale: 0.2, offset: 1)
            try add(p + "attn_q.weight", [e, e], scale: 0.5)
            try add(p + "attn_k.weight", [e, kv], scale: 0.5)
            try add(p + "attn_v.weight", [e, kv], scale: 0.5)
            try add(p + "attn_output.weight", [e, e], scale: 0.3)
            try add(p + "ffn_gate.weight", [e, ff], scale: 0.5)
            try add(p + "ffn_up.weight", [e, ff], scale: 0.5)
            try add(p + "ffn_down.weight", [ff, e], scale: 0.3)
            if architecture == .bitnet {
                try add(p + "attn_sub_norm.weight", [e], scale: 0.2, offset: 1)
                try add(p + "ffn_sub_norm.weight", [ff], scale: 0.2, offset: 1)
            }
        }
        return try TransformerModel(file: try GGUFFile(bytes: writer.serialized()))
    }

    /// An adapter on `targets` (default every projection) of every block, with B random too (B = 0 would make
    /// every ∂L/∂A zero and hide bugs).
    static func adapter(for model: TransformerModel, targets: [LoRATarget] = LoRATarget.allCases, rank: Int = 3,
                        alpha: Float = 6, seed: UInt64 = 11) throws -> LoRAParameters {
        var random = RandomSource(seed: seed)
        let parameters = try LoRAParameters.initial(model: model, targets: targets, rank: rank, alpha: alpha, random: &random)
        for slot in parameters.slots {
            for i in 0..<(slot.outputs * rank) {
                parameters.values[slot.bOffset + i] = Float(random.nextUnit() * 2 - 1) * 0.3
            }
        }
        return parameters
    }

    static func sequence(_ tokens: [Int32], scoredFrom first: Int = 1) throws -> TrainingSequence {
        try TrainingSequence(tokens: tokens, lossMask: tokens.indices.map { $0 >= first })
    }
}

/// Central differences of a scalar function of a float vector.
enum FiniteDifference {
    static func derivative(at index: Int, of x: inout [Float], step h: Float = 1e-2, _ f: ([Float]) throws -> Double) rethrows -> Double {
        let saved = x[index]
        x[index] = saved + h
        let plus = try f(x)
        x[index] = saved - h
        let minus = try f(x)
        x[index] = saved
        return (plus - minus) / Double(2 * h)
    }

    /// |numeric − analytic| ≤ absolute + relative·|analytic|.
    static func close(_ numeric: Double, _ analytic: Double, absolute: Double = 2e-3, relative: Double = 2e-2) -> Bool {
        abs(numeric - analytic) <= absolute + relative * abs(analytic)
    }
}
