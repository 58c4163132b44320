import Foundation
import Testing
import TernKernels
import TernModel

/// The optional parts of the bitnet graph, exercised on edited copies of the tiny bitnet
/// model: per-tensor `.scale` tensors and the `relu2` activation.
@Suite("bitnet graph options: per-tensor scales and relu2")
struct ForwardBitnetVariantTests {
    /// The tiny bitnet model with extra metadata and extra F32 tensors.
    private static func variant(metadata extra: [String: GGUFValue] = [:], scales: [String: [Float]] = [:]) throws -> GGUFFile {
        let source = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.bitnetTiny))
        var writer = try GGUFWriter(alignment: source.alignment)
        for key in source.metadataKeys where key != "general.alignment" { try writer.set(key, source.metadata[key]!) }
        for (key, value) in extra { try writer.set(key, value) }
        for t in source.tensors {
            try writer.addTensor(name: t.name, type: t.type, dimensions: t.dimensions, data: Array(source.data(of: t)))
        }
        for (name, values) in scales.sorted(by: { $0.key < $1.key }) {
            try writer.addTensor(name: name, type: .f32, dimensions: [values.count], data: values.withUnsafeBytes { Array($0) })
        }
        return try GGUFFile(bytes: writer.serialized())
    }

    @Test("zero scales on attn_output and ffn_down silence every block: logits = embedding · norm(embedding)")
    func zeroScalesSilenceBlocks() throws {
        let layers = 4
        var scales: [String: [Float]] = [:]
        for i in 0..<layers {
            scales["blk.\(i).attn_output.scale"] = [0]
            scales["blk.\(i).ffn_down.scale"] = [0]
        }
        let file = try Self.variant(scales: scales)
        let model = try TransformerModel(file: file)
        let token: Int32 = 4649
        let logits = try InferenceSession(model: model, contextLength: 4, precision: .float32).forward([token])

        let info = file.tensor(named: "token_embd.weight")!
        let embedding = try FloatMatrix(elementType: .f16, rows: info.rowCount, cols: info.rowLength, bytes: file.data(of: info))
        let x = try embedding.row(Int(token)).map(Double.init)
        let rms = (x.reduce(0) { $0 + $1 * $1 } / Double(x.count) + 1e-5).squareRoot()
        var worst = 0.0
        for v in stride(from: 0, to: model.vocabularySize, by: 97) {
            let expected = zip(try embedding.row(v), x).reduce(0.0) { $0 + Double($1.0) * $1.1 } / rms
            worst = max(worst, abs(expected - Double(logits[v])))
        }
        #expect(worst < 1e-3, "largest logit error \(worst)")
    }

    @Test("a scale of 1 changes nothing; relu2 changes the result")
    func unitScalesAndRelu2() throws {
        let tokens: [Int32] = [504, 3575, 282]
        let plain = try InferenceSession(model: try TransformerModel(file: try Self.variant()), contextLength: 4)
            .forward(tokens, logits: .all)
        let unit = try InferenceSession(model: try TransformerModel(file: try Self.variant(scales: ["blk.0.attn_q.scale": [1], "blk.2.ffn_up.scale": [1]])), contextLength: 4)
            .forward(tokens, logits: .all)
        #expect(unit == plain)
        let relu2 = try InferenceSession(model: try TransformerModel(file: try Self.variant(metadata: ["bitnet.hidden_activation": .string("relu2")])), contextLength: 4)
            .forward(tokens, logits: .all)
        #expect(relu2 != plain)
        #expect(relu2.allSatisfy { $0.isFinite })
    }

    @Test("a scale tensor with more than one value is rejected by name")
    func badScale() throws {
        #expect(throws: RuntimeError.badScaleTensor(tensor: "blk.1.attn_k.scale", elements: 2)) {
            try TransformerModel(file: try Self.variant(scales: ["blk.1.attn_k.scale": [0, 0]]))
        }
    }
}
