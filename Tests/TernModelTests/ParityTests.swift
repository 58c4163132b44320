import Foundation
import Testing
import TernKernels
import TernModel

/// One line of a `*.logits.jsonl` reference file.
private struct ReferenceLogits: Decodable {
    let text: String
    let tokens: [Int32]
    /// Per position, the ten most likely next tokens as [id, log-probability].
    let ref_top: [[[Double]]]
    let llamacpp_top: [[[Double]]]
}

/// Agreement of a model with the float64 reference over a reference file.
struct ParityFigures {
    var positions = 0
    var top1 = 0
    var llamaTop1 = 0
    /// Mean KL(ref ‖ ours) over the ten reference tokens, renormalized, our full logits.
    var kl = 0.0
    /// The same KL for both engines when only their top-10 lists are known: a reference
    /// token missing from a list gets that list's 10th log-probability (an upper bound).
    /// llama.cpp's figures exist only in that form, so the fair comparison uses it for both.
    var klTop10 = 0.0
    var llamaKLTop10 = 0.0

    var summary: String {
        let p = Double(positions)
        return "top-1 \(top1)/\(positions) (llama.cpp \(llamaTop1)/\(positions)), "
            + "KL \(String(format: "%.6f", kl / p)), top-10 KL \(String(format: "%.6f", klTop10 / p)) "
            + "(llama.cpp \(String(format: "%.6f", llamaKLTop10 / p)))"
    }
}

private func logSoftmax(_ logits: ArraySlice<Float>) -> [Double] {
    let maxLogit = Double(logits.max()!)
    let logSum = log(logits.reduce(0.0) { $0 + exp(Double($1) - maxLogit) }) + maxLogit
    return logits.map { Double($0) - logSum }
}

/// KL(p ‖ q) with both renormalized over the reference's ten tokens.
private func renormalizedKL(reference: [[Double]], logProbability: (Int) -> Double) -> Double {
    let p = reference.map { exp($0[1]) }
    let q = reference.map { exp(logProbability(Int($0[0]))) }
    let pSum = p.reduce(0, +), qSum = q.reduce(0, +)
    return zip(p, q).reduce(0.0) { acc, pq in
        let (pi, qi) = (pq.0 / pSum, pq.1 / qSum)
        return acc + pi * log(pi / qi)
    }
}

/// A top-10 list as a lookup; tokens outside it get its smallest log-probability.
private func top10Lookup(_ list: [[Double]]) -> (Int) -> Double {
    let byID = Dictionary(list.map { (Int($0[0]), $0[1]) }, uniquingKeysWith: { a, _ in a })
    let floor = list.map { $0[1] }.min()!
    return { byID[$0] ?? floor }
}

func measureParity(model modelName: String, reference: String, precision: MatmulPrecision,
                   adapter: LoRAAdapter? = nil, quantizeFloatHead: Bool = false) throws -> ParityFigures {
    let file = try GGUFFile(path: try TestFixtures.modelPath(modelName))
    let model = try TransformerModel(file: file, adapter: adapter, quantizeFloatHead: quantizeFloatHead)
    let tokenizer = try Tokenizer(file: file)
    let text = try String(contentsOf: TestFixtures.referenceDirectory.appendingPathComponent(reference), encoding: .utf8)
    let lines = try text.split(separator: "\n").map { try JSONDecoder().decode(ReferenceLogits.self, from: Data($0.utf8)) }
    #expect(!lines.isEmpty)
    let pool = ThreadPool()
    var figures = ParityFigures()
    for line in lines {
        #expect(tokenizer.encode(line.text) == line.tokens, "tokens of \(line.text.debugDescription)")
        let session = InferenceSession(model: model, contextLength: line.tokens.count, pool: pool, precision: precision)
        let logits = try session.forward(line.tokens, logits: .all)
        let vocab = model.vocabularySize
        for position in line.tokens.indices {
            let ours = logSoftmax(logits[(position * vocab)..<((position + 1) * vocab)])
            let ref = line.ref_top[position], llama = line.llamacpp_top[position]
            let best = ours.indices.max { ours[$0] < ours[$1] }!
            let ourTop10 = ours.indices.sorted { ours[$0] > ours[$1] }.prefix(10).map { [Double($0), ours[$0]] }
            figures.positions += 1
            if best == Int(ref[0][0]) { figures.top1 += 1 }
            if Int(llama[0][0]) == Int(ref[0][0]) { figures.llamaTop1 += 1 }
            figures.kl += renormalizedKL(reference: ref) { ours[$0] }
            figures.klTop10 += renormalizedKL(reference: ref, logProbability: top10Lookup(ourTop10))
            figures.llamaKLTop10 += renormalizedKL(reference: ref, logProbability: top10Lookup(llama))
        }
    }
    return figures
}

/// The float32 and int16 paths must match the float64 reference at least as well as
/// llama.cpp does: at least its top-1 agreement and at most its top-10 KL (both reach
/// 128/128 and 42/42 with KL ≈ 1e-7; int16 carries each activation as two int8 halves
/// through the integer kernels, see `MatmulPrecision`). The int8 path rounds activations per
/// token as BitNet b1.58 defines it, where llama.cpp rounds per block of 32 or 256 values:
/// the noise differs, so it gets a documented margin — at most 3 top-1 positions fewer than
/// llama.cpp (both lose only near-ties) and at most twice its top-10 KL (measured: 124 vs 125
/// and 1.1× for SmolLM2, 40 vs 38 and 1.6× for the bitnet model).
@Suite("Forward-pass parity with llama.cpp and the float64 reference")
struct ParityTests {
    static let smolLM2Reference = "smollm2-135m-instruct-q4_1.logits.jsonl"
    static let bitnetReference = "bitnet-tiny-tq2_0.logits.jsonl"

    /// The bar of the float32 and int16 paths: llama.cpp's agreement or better.
    private func expectFloatParity(_ f: ParityFigures, positions: Int) {
        #expect(f.positions == positions)
        #expect(f.top1 >= f.llamaTop1)
        #expect(f.klTop10 <= f.llamaKLTop10)
        #expect(f.kl / Double(f.positions) < 1e-4)
    }

    private func expectInt8Parity(_ f: ParityFigures, positions: Int) {
        #expect(f.positions == positions)
        #expect(f.top1 >= f.llamaTop1 - 3)
        #expect(f.klTop10 <= 2 * f.llamaKLTop10)
    }

    @Test("SmolLM2-135M Q4_1 (llama), float32: top-1 and KL at least as good as llama.cpp")
    func smolLM2Float() throws {
        let f = try measureParity(model: TestFixtures.smolLM2, reference: Self.smolLM2Reference, precision: .float32)
        print("SmolLM2 parity, float32: \(f.summary)")
        expectFloatParity(f, positions: 128)
    }

    @Test("SmolLM2-135M Q4_1 (llama), int8 activations: within the documented margin of llama.cpp")
    func smolLM2Int8() throws {
        let f = try measureParity(model: TestFixtures.smolLM2, reference: Self.smolLM2Reference, precision: .int8Activations)
        print("SmolLM2 parity, int8: \(f.summary)")
        expectInt8Parity(f, positions: 128)
    }

    @Test("SmolLM2-135M Q4_1 (llama), int16 activations: top-1 and KL at least as good as llama.cpp")
    func smolLM2Int16() throws {
        let f = try measureParity(model: TestFixtures.smolLM2, reference: Self.smolLM2Reference, precision: .int16Activations)
        print("SmolLM2 parity, int16: \(f.summary)")
        expectFloatParity(f, positions: 128)
    }

    @Test("bitnet tiny TQ2_0, float32: top-1 and KL at least as good as llama.cpp")
    func bitnetFloat() throws {
        let f = try measureParity(model: TestFixtures.bitnetTiny, reference: Self.bitnetReference, precision: .float32)
        print("bitnet tiny parity, float32: \(f.summary)")
        expectFloatParity(f, positions: 42)
    }

    @Test("bitnet tiny TQ2_0, int8 activations: within the documented margin of llama.cpp")
    func bitnetInt8() throws {
        let f = try measureParity(model: TestFixtures.bitnetTiny, reference: Self.bitnetReference, precision: .int8Activations)
        print("bitnet tiny parity, int8: \(f.summary)")
        expectInt8Parity(f, positions: 42)
    }

    @Test("bitnet tiny TQ2_0, int16 activations (F16 or Q8_0 head): top-1 and KL at least as good as llama.cpp",
          arguments: [false, true])
    func bitnetInt16(quantizeFloatHead: Bool) throws {
        let f = try measureParity(model: TestFixtures.bitnetTiny, reference: Self.bitnetReference, precision: .int16Activations,
                                  quantizeFloatHead: quantizeFloatHead)
        print("bitnet tiny parity, int16\(quantizeFloatHead ? ", Q8_0 head" : ""): \(f.summary)")
        expectFloatParity(f, positions: 42)
    }
}
