import Foundation
import Testing
import TernKernels
import TernModel

/// A class so that each test's scratch directory is removed when the test ends (deinit).
@Suite final class LoRAAdapterFileTests {
    static let fixture = "smollm2-135m-lora-fixture.gguf"

    var fixturePath: String { TestFixtures.referenceDirectory.appendingPathComponent(Self.fixture).path }

    private let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tern-lora-\(UUID().uuidString)")

    init() throws {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: scratch) }

    func temporaryPath(_ name: String) -> String {
        scratch.appendingPathComponent(name).path
    }

    /// A tiny adapter: one attn_q pair (2 inputs, 3 outputs, rank 1) with given values.
    func writeAdapter(_ tensors: [(String, GGUFTensorType, [Int], [Float])], metadata: [String: GGUFValue]? = nil) throws -> String {
        var writer = try GGUFWriter()
        for (key, value) in metadata ?? ["general.type": .string("adapter"), "general.architecture": .string("llama"),
                                         "adapter.type": .string("lora"), "adapter.lora.alpha": .float32(2)] {
            try writer.set(key, value)
        }
        for (name, type, dims, values) in tensors {
            let matrix = try FloatMatrix(rows: dims.dropFirst().reduce(1, *), cols: dims[0], values: values,
                                         as: FloatElementType(ggmlType: type.rawValue)!)
            try writer.addTensor(name: name, type: type, dimensions: dims, data: Array(matrix.bytes))
        }
        let path = temporaryPath("adapter.gguf")
        try writer.write(to: path)
        return path
    }

    @Test func readsTheLlamaCppTrainedFixture() throws {
        let file = try LoRAAdapterFile.open(path: fixturePath)
        let adapter = file.adapter
        #expect(file.architecture == "llama")
        #expect(adapter.rank == 8 && adapter.alpha == 16 && adapter.scale == 2)
        #expect(adapter.weights.count == 7 * 30)
        #expect(Set(adapter.sites.map(\.layer)) == Set(0..<30))
        #expect(Set(adapter.sites.map(\.target)) == Set(LoRATarget.allCases))
        let q = try #require(adapter.weights[LoRASite(layer: 0, target: .attentionQuery)])
        #expect(q.inputs == 576 && q.outputs == 576 && q.rank == 8)
        let k = try #require(adapter.weights[LoRASite(layer: 29, target: .attentionKey)])
        #expect(k.outputs == 192)
        let down = try #require(adapter.weights[LoRASite(layer: 3, target: .feedForwardDown)])
        #expect(down.inputs == 1536 && down.outputs == 576)
        // A trained adapter: B has moved away from its zero start.
        #expect(q.b.contains { $0 != 0 } && q.a.allSatisfy(\.isFinite))
        let base = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.smolLM2))
        try LoRAAdapterFile.validate(adapter, against: base)
    }

    @Test func writeThenReadIsIdentical() throws {
        let base = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.smolLM2))
        let original = try LoRAAdapterFile.read(path: fixturePath)
        let path = temporaryPath("roundtrip.gguf")
        try LoRAAdapterFile.write(original, to: path, baseModel: base)
        let reread = try LoRAAdapterFile.open(path: path)
        #expect(reread.adapter == original)
        #expect(reread.architecture == "llama")
        // llama.cpp's header and tensor layout.
        let raw = try GGUFFile(path: path)
        #expect(raw.metadata["general.type"] == .string("adapter"))
        #expect(raw.metadata["adapter.type"] == .string("lora"))
        #expect(raw.metadata["adapter.lora.alpha"] == .float32(16))
        let a = try #require(raw.tensor(named: "blk.5.ffn_gate.weight.lora_a"))
        let b = try #require(raw.tensor(named: "blk.5.ffn_gate.weight.lora_b"))
        #expect(a.dimensions == [576, 8] && b.dimensions == [8, 1536] && a.type == .f32 && b.type == .f32)
    }

    @Test func readsHalfPrecisionTensors() throws {
        let a: [Float] = [0.5, -1.25], b: [Float] = [1, 2.5, -3]
        for type in [GGUFTensorType.f16, .bf16] {
            let path = try writeAdapter([("blk.0.attn_q.weight.lora_a", type, [2, 1], a),
                                         ("blk.0.attn_q.weight.lora_b", type, [1, 3], b)])
            let adapter = try LoRAAdapterFile.read(path: path)
            #expect(adapter.rank == 1 && adapter.alpha == 2)
            #expect(adapter.weights[LoRASite(layer: 0, target: .attentionQuery)] == (try LoRAWeights(inputs: 2, outputs: 3, rank: 1, a: a, b: b)))
        }
    }

    @Test func malformedAdaptersAreRejectedByName() throws {
        func failure(_ path: String) -> LoRAFileError? {
            do { _ = try LoRAAdapterFile.read(path: path) } catch let e as LoRAFileError { return e } catch { return nil }
            return nil
        }
        let a2 = ("blk.0.attn_q.weight.lora_a", GGUFTensorType.f32, [2, 1], [Float](repeating: 1, count: 2))
        let b3 = ("blk.0.attn_q.weight.lora_b", GGUFTensorType.f32, [1, 3], [Float](repeating: 1, count: 3))

        var path = try writeAdapter([a2])
        #expect(failure(path) == .missingHalf(path: path, name: "blk.0.attn_q.weight.lora_b"))
        path = try writeAdapter([a2, b3, ("blk.0.attn_qkv.weight.lora_a", .f32, [2, 1], [1, 1])])
        #expect(failure(path) == .unknownTensor(path: path, name: "blk.0.attn_qkv.weight.lora_a"))
        path = try writeAdapter([a2, ("blk.0.attn_q.weight.lora_b", .f32, [2, 3], [Float](repeating: 1, count: 6))])
        #expect(failure(path) == .badShape(path: path, name: "blk.0.attn_q.weight", detail: "lora_a has rank 1 but lora_b has rank 2"))
        path = try writeAdapter([a2, b3, ("blk.1.attn_k.weight.lora_a", .f32, [2, 2], [1, 1, 1, 1]),
                                 ("blk.1.attn_k.weight.lora_b", .f32, [2, 1], [1, 1])])
        #expect(failure(path) == .mixedRanks(path: path, name: "blk.1.attn_k.weight", rank: 2, expected: 1))
        path = try writeAdapter([a2, b3], metadata: ["general.type": .string("model"), "general.architecture": .string("llama")])
        #expect(failure(path) == .notAnAdapter(path: path, generalType: "model"))
        path = try writeAdapter([a2, b3], metadata: ["general.type": .string("adapter"), "general.architecture": .string("llama"),
                                                     "adapter.type": .string("lora")])
        #expect(failure(path) == .missingKey(path: path, key: "adapter.lora.alpha"))
        #expect("\(LoRAFileError.unknownTensor(path: "x.gguf", name: "bad"))".contains("x.gguf: unknown adapter tensor 'bad'"))
    }

    @Test func anAdapterForAnotherModelDoesNotLoad() throws {
        let base = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.smolLM2))
        let wrongShape = LoRAAdapter(rank: 1, alpha: 1, weights: [
            LoRASite(layer: 0, target: .attentionQuery): try LoRAWeights(inputs: 2, outputs: 3, rank: 1, a: [1, 1], b: [1, 1, 1]),
        ])
        #expect(throws: LoRAFileError.baseMismatch("blk.0.attn_q.weight is 576×576 (outputs×inputs) in the base model but 3×2 in the adapter")) {
            try TransformerModel(file: base, adapter: wrongShape)
        }
        let missingLayer = LoRAAdapter(rank: 1, alpha: 1, weights: [
            LoRASite(layer: 30, target: .attentionQuery): try LoRAWeights(inputs: 576, outputs: 576, rank: 1,
                                                                          a: [Float](repeating: 0, count: 576), b: [Float](repeating: 0, count: 576)),
        ])
        #expect(throws: LoRAFileError.baseMismatch("the base model has no tensor blk.30.attn_q.weight")) {
            try LoRAAdapterFile.write(missingLayer, to: temporaryPath("never.gguf"), baseModel: base)
        }
    }
}
