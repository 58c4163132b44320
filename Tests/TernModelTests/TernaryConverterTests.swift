import Foundation
import Testing
import TernKernels
import TernModel

@Suite("tern convert --ternary: absmean ternarization of the block projections")
struct TernaryConverterTests {
    private func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tern-convert-\(UUID().uuidString)-\(name)").path
    }

    /// Row-major float values of a stored ternary tensor.
    private func decodedValues(_ tensor: GGUFTensorInfo, in file: GGUFFile) throws -> [Float] {
        let encoding: TernaryEncoding = switch tensor.type {
        case .tq2_0: .tq2_0
        case .tq1_0: .tq1_0
        default: .i2s
        }
        return try encoding.decode(file.data(of: tensor), rows: tensor.rowCount, cols: tensor.rowLength)
    }

    @Test(arguments: [TernaryFormat.tq1_0, .tq2_0, .i2_s, .native])
    func bitnetTinyProjectionsBecomeTernaryTimesAbsmean(format: TernaryFormat) throws {
        let input = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.bitnetTiny))
        var steps = 0
        let writer = try TernaryConverter(format: format).convert(input) { _ in steps += 1 }
        #expect(steps == input.tensors.count)
        let output = try GGUFFile(bytes: writer.serialized())
        let projections = try TernaryConverter.projectionNames(in: input)
        #expect(projections.count == 7 * 4)
        #expect(output.metadataKeys.filter { $0 != "general.file_type" } == input.metadataKeys.filter { $0 != "general.file_type" })
        #expect(output.tensors.map(\.name) == input.tensors.map(\.name))

        let expectedType: GGUFTensorType = switch format {
        case .tq1_0: .tq1_0
        case .i2_s: .i2s
        case .tq2_0, .native: .tq2_0   // hidden 512 and FFN 1536 rows are multiples of 256
        }
        for tensor in output.tensors {
            let original = input.tensor(named: tensor.name)!
            #expect(tensor.dimensions == original.dimensions)
            guard projections.contains(tensor.name) else {
                #expect(tensor.type == original.type)
                #expect(Array(output.data(of: tensor)) == Array(input.data(of: original)), "\(tensor.name) copied unchanged")
                continue
            }
            #expect(tensor.type == expectedType)
            var expected = try decodedValues(original, in: input)
            let gamma = Double(expected.reduce(0) { $0 + abs($1) }) / Double(expected.count)
            TernaryEncoding.ternarize(&expected)
            let values = try decodedValues(tensor, in: output)
            // Every value is 0 or ±γ (γ rounded to fp16 where the format stores an fp16 scale).
            let tolerance = gamma * 1e-3
            #expect(values.allSatisfy { $0 == 0 || abs(abs(Double($0)) - gamma) <= tolerance }, "\(tensor.name) is ternary × γ")
            #expect(zip(values, expected).allSatisfy { abs(Double($0) - Double($1)) <= tolerance }, "\(tensor.name) matches absmean")
        }
    }

    @Test func rowsThatAreNotMultiplesOf256NameTheTensorAndSuggestAFormat() throws {
        let input = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.smolLM2))
        #expect(throws: TernaryConversionError.rowLengthNotSupported(tensor: "blk.0.attn_q.weight", rowLength: 576, format: "tq2_0")) {
            _ = try TernaryConverter(format: .tq2_0).convert(input)
        }
        let message = "\(TernaryConversionError.rowLengthNotSupported(tensor: "blk.0.attn_q.weight", rowLength: 576, format: "tq1_0"))"
        #expect(message.contains("blk.0.attn_q.weight") && message.contains("576") && message.contains("i2_s"))
    }

    /// SmolLM2 (hidden 576) converts to I2_S with `native`, loads and generates.
    @Test func smolLM2NativeLoadsAndGenerates() throws {
        let input = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.smolLM2))
        let path = temporaryPath("smollm2-ternary.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try TernaryConverter(format: .native).convert(input).write(to: path)

        let file = try GGUFFile(path: path)
        #expect(file.tensor(named: "blk.0.ffn_down.weight")?.type == .i2s)
        #expect(file.tensor(named: "token_embd.weight")?.type == input.tensor(named: "token_embd.weight")?.type)
        let tokenizer = try Tokenizer(file: file)
        let session = InferenceSession(model: try TransformerModel(file: file), contextLength: 32, pool: ThreadPool())
        let result = try Generator(session: session, tokenizer: tokenizer)
            .generate(prompt: tokenizer.encode("The capital of France is"), sampling: .greedy, maxTokens: 4)
        #expect(result.tokens.count >= 1)
        let logits = try session.forward([42], logits: .last)
        #expect(logits.allSatisfy(\.isFinite))
    }
}
