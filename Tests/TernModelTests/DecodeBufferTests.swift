import Testing
import TernKernels
import TernModel

@Suite("Decode buffers, threaded attention and tern bench model")
struct DecodeBufferTests {
    @Test("decode steps reuse one logits buffer and match a batched forward pass",
          arguments: [MatmulPrecision.int8Activations, .int16Activations])
    func decodeReusesBuffers(precision: MatmulPrecision) throws {
        let model = try TransformerModel(path: try TestFixtures.modelPath(TestFixtures.bitnetTiny))
        let tokens: [Int32] = Array(1...40)
        let vocab = model.vocabularySize
        let pool = ThreadPool(threads: 2)
        let batch = try InferenceSession(model: model, contextLength: 64, pool: pool, precision: precision).forward(tokens, logits: .all)
        let session = InferenceSession(model: model, contextLength: 64, pool: pool, precision: precision)
        var addresses = Set<UnsafePointer<Float>>()
        var worst: Float = 0
        for (i, token) in tokens.enumerated() {
            let logits = try session.decode(token)
            #expect(logits.count == vocab)
            addresses.insert(logits.baseAddress!)
            for v in 0..<vocab { worst = max(worst, abs(logits[v] - batch[i * vocab + v])) }
        }
        #expect(addresses.count == 1, "decode handed out \(addresses.count) different logits buffers")
        #expect(worst < 1e-2, "largest logit difference \(worst) between decode steps and one batch")
    }

    @Test("results are identical for 1, 2 and 3 threads (prefill longer than one attention chunk, then decode)",
          arguments: [MatmulPrecision.int8Activations, .int16Activations])
    func threadCountInvariance(precision: MatmulPrecision) throws {
        let model = try TransformerModel(path: try TestFixtures.modelPath(TestFixtures.bitnetTiny))
        let prompt: [Int32] = (0..<45).map { Int32(($0 * 7919) % 49152) }
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            let session = InferenceSession(model: model, contextLength: 64, pool: ThreadPool(threads: threads), precision: precision)
            var out = try session.forward(prompt, logits: .all)
            out += Array(try session.decode(17))
            results.append(out)
        }
        #expect(results[0] == results[1])
        #expect(results[0] == results[2])
    }

    @Test("bench model measures pp and tg on bitnet-tiny")
    func benchModelRuns() throws {
        let path = try TestFixtures.modelPath(TestFixtures.bitnetTiny)
        let model = try TransformerModel(path: path, quantizeFloatHead: true)
        let bench = try ModelBenchmark(model: model, pool: ThreadPool(threads: 2),
                                       configuration: .init(promptTokens: 24, generatedTokens: 4, repetitions: 2))
        let r = try bench.run()
        let pp = try #require(r.prompt), tg = try #require(r.generation)
        #expect(pp.samples.count == 2 && tg.samples.count == 2)
        #expect(pp.mean > 0 && tg.mean > 0 && pp.standardDeviation >= 0)
        #expect(r.projectionSecondsPerToken > 0 && r.headSecondsPerToken > 0)
        // The F16 head is read as Q8_0 (8.5 bits): the head alone is 49152·512·34/32 bytes.
        let head = 49152 * 512 * 34 / 32
        #expect(r.weightBytesPerToken > head && r.weightBytesPerToken < head + 4_000_000)
        let floatHead = try ModelBenchmark(model: try TransformerModel(path: path), pool: nil,
                                           configuration: .init(promptTokens: 0, generatedTokens: 1, repetitions: 1))
        #expect(try floatHead.run().weightBytesPerToken > 49152 * 512 * 2)
        #expect(throws: RuntimeError.self) {
            try ModelBenchmark(model: model, pool: nil, configuration: .init(promptTokens: 8, generatedTokens: 1, repetitions: 0))
        }
    }
}
