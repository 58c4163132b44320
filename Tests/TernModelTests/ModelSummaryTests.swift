import Foundation
import Testing
import TernModel

@Suite struct ModelSummaryTests {
    @Test func summarizesSmolLM2() throws {
        let s = ModelSummary(file: try GGUFFile(path: TestFixtures.modelPath(TestFixtures.smolLM2)))
        #expect(s.architecture == "llama" && s.hyperParameters?.blockCount == 30)
        #expect(s.tokenizer?.preTokenizer == "smollm" && s.tokenizer?.vocabularySize == 49152)
        #expect(s.chatTemplate == "chatml")
        #expect(s.tensorCount == 272)
        #expect(s.tensorTypes.map(\.type) == ["Q4_1", "Q8_0", "F32"])
        #expect(s.tensorTypes.map(\.count) == [210, 1, 61])
        #expect(s.tensorTypes.reduce(0) { $0 + $1.bytes } < s.fileSize)
        let json = try JSONEncoder().encode(s)
        #expect(try JSONDecoder().decode(ModelSummary.self, from: json) == s)
    }

    @Test func reportsSectionErrorsInsteadOfFailing() throws {
        var w = try GGUFWriter()
        try w.set("general.architecture", .string("mamba"))
        try w.addTensor(name: "x", type: .tq1_0, dimensions: [256, 2], data: Array(repeating: 0, count: 108))
        let s = ModelSummary(file: try GGUFFile(bytes: w.serialized()))
        #expect(s.hyperParametersError?.contains("unknown model architecture 'mamba'") == true)
        #expect(s.tokenizerError != nil && s.chatTemplateError != nil)
        #expect(s.tensorTypes.map { [$0.type, "\($0.count)", "\($0.bytes)"] } == [["TQ1_0", "1", "108"]])
        #expect(s.parameterCount == 512)
    }
}
