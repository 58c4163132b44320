import Foundation
import Testing
import TernKernels
import TernModel

/// `--lora` at run time: the llama.cpp-trained fixture against the float64 reference with
/// the adapter merged, and the no-op adapter against the base model.
@Suite struct LoRARuntimeTests {
    static let reference = "smollm2-135m-instruct-q4_1+lora-fixture.logits.jsonl"

    var fixture: LoRAAdapter {
        get throws { try LoRAAdapterFile.read(path: TestFixtures.referenceDirectory.appendingPathComponent(LoRAAdapterFileTests.fixture).path) }
    }

    /// llama.cpp applies this adapter unmerged and agrees with the reference on 121 of 128
    /// positions. The float32 and int16 paths must do at least as well (measured: 128/128). The int8
    /// path gets the margin `ParityTests` documents for the base model (int8 rounding per
    /// token, where llama.cpp rounds per block): at most 3 positions fewer and at most twice
    /// llama.cpp's top-10 KL (measured: 122/128, top-10 KL 1.01× llama.cpp's).
    @Test(arguments: [MatmulPrecision.float32, .int16Activations])
    func fixtureMatchesTheMergedReference(precision: MatmulPrecision) throws {
        let f = try measureParity(model: TestFixtures.smolLM2, reference: Self.reference, precision: precision, adapter: try fixture)
        print("SmolLM2 + LoRA fixture parity, \(precision.rawValue): \(f.summary)")
        #expect(f.positions == 128 && f.llamaTop1 == 121)
        #expect(f.top1 >= f.llamaTop1)
        #expect(f.klTop10 <= f.llamaKLTop10)
    }

    @Test func fixtureMatchesTheMergedReferenceInInt8() throws {
        let f = try measureParity(model: TestFixtures.smolLM2, reference: Self.reference, precision: .int8Activations, adapter: try fixture)
        print("SmolLM2 + LoRA fixture parity, int8: \(f.summary)")
        #expect(f.positions == 128)
        #expect(f.top1 >= f.llamaTop1 - 3)
        #expect(f.klTop10 <= 2 * f.llamaKLTop10)
    }

    /// The adapter moves the model: without it, agreement with the adapted reference drops.
    @Test func theAdapterChangesTheLogits() throws {
        let base = try measureParity(model: TestFixtures.smolLM2, reference: Self.reference, precision: .float32)
        print("SmolLM2 without the adapter vs the adapted reference, float32: \(base.summary)")
        #expect(base.top1 < 121)
    }

    @Test(arguments: [MatmulPrecision.float32, .int8Activations, .int16Activations])
    func aZeroBAdapterReproducesTheBaseLogitsExactly(precision: MatmulPrecision) throws {
        let file = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.smolLM2))
        var adapter = try fixture
        for site in adapter.sites { adapter.weights[site]!.b = [Float](repeating: 0, count: adapter.weights[site]!.b.count) }
        let tokens = try Tokenizer(file: file).encode("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n")
        func logits(_ adapter: LoRAAdapter?) throws -> [Float] {
            let model = try TransformerModel(file: file, adapter: adapter)
            return try InferenceSession(model: model, contextLength: tokens.count, pool: ThreadPool(), precision: precision)
                .forward(tokens, logits: .all)
        }
        let base = try logits(nil)
        #expect(try logits(adapter) == base)
        #expect(try logits(try fixture) != base)
    }
}
