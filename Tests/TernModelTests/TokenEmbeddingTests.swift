import Foundation
import Testing
import TernKernels
import TernModel

/// Embedding rows read from the file (pread, so random tokens do not map the page cache's
/// folios) must equal the rows read in place.
@Suite struct TokenEmbeddingTests {
    @Test func rowsReadFromTheFileEqualRowsReadInPlace() throws {
        let path = try TestFixtures.modelPath(TestFixtures.bitnetTiny)
        // Tied F16 embedding: with a Q8_0 head it is read a row at a time, from the file;
        // without one it is the stored head, read in place. An in-memory copy has no file.
        let fromFile = try TransformerModel(path: path, quantizeFloatHead: true).tokenEmbedding
        let inPlace = try TransformerModel(path: path).tokenEmbedding
        let copy = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let inMemory = try TransformerModel(file: try GGUFFile(bytes: copy), quantizeFloatHead: true).tokenEmbedding
        #expect(fromFile.stagingBytes == 512 * 2)
        #expect(inPlace.stagingBytes == 0)
        let cols = fromFile.weights.cols
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: fromFile.stagingBytes, alignment: 64)
        defer { staging.deallocate() }
        for row in [0, 1, 4097, fromFile.weights.rows - 1] {
            var expected = [Float](repeating: 0, count: cols)
            try expected.withUnsafeMutableBufferPointer { try fromFile.weights.copyRow(row, into: $0) }
            for (embedding, stage) in [(fromFile, staging), (fromFile, nil), (inPlace, nil), (inMemory, staging)] {
                var got = [Float](repeating: .nan, count: cols)
                try got.withUnsafeMutableBufferPointer { try embedding.copyRow(row, into: $0, staging: stage) }
                #expect(got == expected, "row \(row)")
            }
        }
        var out = [Float](repeating: 0, count: cols)
        #expect(throws: RuntimeError.tokenOutOfRange(token: 49152, vocabularySize: 49152)) {
            try out.withUnsafeMutableBufferPointer { try fromFile.copyRow(49152, into: $0) }
        }
    }
}
