import TernMesh
import TernModel

/// `tern fuzz train-result`: the adapter a worker returns from a `train` job, as the requester
/// reads it before countersigning (`TaskPlane.checkTrainResult`) and the dispatcher before
/// averaging: `GGUFFile(bytes:)`, `LoRAAdapterFile(file:)`, `TrainJob.parameterHash(of:)`.
///
/// Invariant: an adapter that decodes has, at every site, exactly rank × inputs values of A and
/// outputs × rank of B, and its parameter hash can be taken.
public struct TrainResultFuzzTarget: FuzzTarget {
    public let name = "train-result"
    public let samples: [[UInt8]]

    public init() throws {
        samples = [try Self.adapterBytes(layers: 2, rank: 2, width: 8), try Self.adapterBytes(layers: 1, rank: 4, width: 4)]
    }

    /// A GGUF LoRA adapter laid out as `LoRAAdapterFile` writes one, on attn_q and attn_v.
    static func adapterBytes(layers: Int, rank: Int, width: Int) throws -> [UInt8] {
        var writer = try GGUFWriter()
        try writer.set("general.architecture", .string("llama"))
        try writer.set("general.type", .string("adapter"))
        try writer.set("adapter.type", .string("lora"))
        try writer.set("adapter.lora.alpha", .float32(Float(2 * rank)))
        for layer in 0..<layers {
            for target in [LoRATarget.attentionQuery, .attentionValue] {
                let name = LoRASite(layer: layer, target: target).baseTensorName
                let values = (0..<rank * width).map { Float($0 % 7) * 0.01 }
                let bytes = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
                try writer.addTensor(name: name + ".lora_a", type: .f32, dimensions: [width, rank], data: bytes)
                try writer.addTensor(name: name + ".lora_b", type: .f32, dimensions: [rank, width], data: bytes)
            }
        }
        return writer.serialized()
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        let adapter: LoRAAdapter
        do {
            adapter = try LoRAAdapterFile(file: try GGUFFile(bytes: input), path: "result").adapter
        } catch {
            return .rejected(String(describing: type(of: error)))
        }
        for site in adapter.sites {
            guard let w = adapter.weights[site], w.rank == adapter.rank, w.a.count == w.rank * w.inputs,
                  w.b.count == w.outputs * w.rank else {
                return .violation("\(site.baseTensorName): factor sizes do not match rank and shape")
            }
        }
        guard (try? TrainJob.parameterHash(of: adapter))?.count == 32 else {
            return .violation("an adapter that decodes has no parameter hash")
        }
        return .accepted(adapter.sites.isEmpty ? "empty" : "adapter")
    }
}
