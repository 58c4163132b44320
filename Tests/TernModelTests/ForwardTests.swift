import Testing
import TernKernels
import TernModel

@Suite("Forward pass and KV cache")
struct ForwardTests {
    @Test("decoding token by token through the KV cache gives the logits of one batched pass")
    func incrementalMatchesBatch() throws {
        let model = try TransformerModel(path: try TestFixtures.modelPath(TestFixtures.smolLM2))
        let tokens: [Int32] = [504, 3575, 282, 4649, 314, 7042]
        let pool = ThreadPool()
        let vocab = model.vocabularySize
        for precision in [MatmulPrecision.float32, .int8Activations] {
            let batch = try InferenceSession(model: model, contextLength: 16, pool: pool, precision: precision)
                .forward(tokens, logits: .all)
            let stepwise = InferenceSession(model: model, contextLength: 16, pool: pool, precision: precision)
            var worst: Float = 0
            for (i, token) in tokens.enumerated() {
                let logits = try stepwise.forward([token], logits: .last)
                for v in 0..<vocab { worst = max(worst, abs(logits[v] - batch[i * vocab + v])) }
            }
            #expect(stepwise.position == tokens.count)
            #expect(worst < 1e-2, "largest logit difference \(worst) with \(precision)")
        }
    }

    @Test("bad requests throw errors that name the problem")
    func badRequests() throws {
        let model = try TransformerModel(path: try TestFixtures.modelPath(TestFixtures.bitnetTiny))
        let session = InferenceSession(model: model, contextLength: 4)
        #expect(throws: RuntimeError.emptyBatch) { try session.forward([]) }
        #expect(throws: RuntimeError.tokenOutOfRange(token: 49152, vocabularySize: 49152)) { try session.forward([49152]) }
        #expect(throws: RuntimeError.contextFull(position: 0, tokens: 5, capacity: 4)) { try session.forward([1, 2, 3, 4, 5]) }
        _ = try session.forward([1, 2, 3])
        #expect(throws: RuntimeError.contextFull(position: 3, tokens: 2, capacity: 4)) { try session.forward([1, 2]) }
        session.reset()
        #expect(try session.forward([1, 2], logits: .all).count == 2 * model.vocabularySize)
    }
}
