import Foundation
import Testing
import TernKernels
import TernModel

@Suite("tern logits: prompt files and next-token rankings")
struct LogitsProbeTests {
    @Test func promptFileResolvesEscapesAndSkipsBlankLines() throws {
        let prompts = try PromptFile.parse("first\\nline\n\n  \nback\\\\slash <|im_start|>\r\nlast")
        #expect(prompts == ["first\nline", "back\\slash <|im_start|>", "last"])
    }

    @Test func promptFileErrorsNameTheLine() {
        #expect(throws: PromptFile.Failure.unknownEscape(line: 2, escape: "t")) { try PromptFile.parse("ok\nbad\\tescape") }
        #expect(throws: PromptFile.Failure.unknownEscape(line: 1, escape: "")) { try PromptFile.parse("dangling\\") }
        #expect(throws: PromptFile.Failure.noPrompts) { try PromptFile.parse("\n \n") }
        #expect("\(PromptFile.Failure.unknownEscape(line: 2, escape: "t"))".contains("line 2"))
    }

    @Test func topLogProbabilitiesAreSortedLogSoftmax() {
        let logits: [Float] = [1, 3, 2, 3, -1]
        let top = topLogProbabilities(logits[...], k: 3)
        let logSum = log(logits.reduce(0.0) { $0 + exp(Double($1)) })
        #expect(top.map(\.id) == [1, 3, 2])
        for t in top { #expect(abs(t.logProbability - (Double(logits[Int(t.id)]) - logSum)) < 1e-9) }
        #expect(topLogProbabilities(logits[...], k: 10).count == 5)
        let json = String(decoding: try! JSONEncoder().encode(top[0]), as: UTF8.self)
        #expect(json.hasPrefix("[1,"))
    }

    /// Two reference prompts (plain text, and a ChatML prompt with special tokens and
    /// escaped newlines) reproduce llama.cpp's tokens and the float reference's top-1.
    @Test func smolLM2MatchesReferenceTopOne() throws {
        struct Reference: Decodable {
            let text: String
            let tokens: [Int32]
            let ref_top: [[[Double]]]
        }
        let url = TestFixtures.referenceDirectory.appendingPathComponent(ParityTests.smolLM2Reference)
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(Reference.self, from: Data($0.utf8)) }
        let chosen = lines.filter { $0.text.hasPrefix("The capital") || $0.text.hasPrefix("<|im_start|>") }
        #expect(chosen.count == 2)
        // The prompt file form of the two texts.
        let escaped = chosen.map { $0.text.replacing("\\", with: "\\\\").replacing("\n", with: "\\n") }.joined(separator: "\n")
        let texts = try PromptFile.parse(escaped)

        let file = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.smolLM2))
        let session = InferenceSession(model: try TransformerModel(file: file), contextLength: 64, pool: ThreadPool(),
                                       precision: .float32)
        let probe = LogitsProbe(session: session, tokenizer: try Tokenizer(file: file))
        for (text, reference) in zip(texts, chosen) {
            let record = try probe.record(text, top: 5)
            #expect(record.text == reference.text)
            #expect(record.tokens == reference.tokens)
            #expect(record.top.count == reference.tokens.count)
            for (ours, ref) in zip(record.top, reference.ref_top) {
                #expect(ours.count == 5)
                #expect(ours[0].id == Int32(ref[0][0]))
                #expect(abs(ours[0].logProbability - ref[0][1]) < 1e-3)
            }
        }
    }
}
