import Foundation
import Testing
import TernKernels

@Suite struct TernaryEncodingTests {
    let fixtureInput: [Float]

    init() throws {
        let data = try fixture("ternary_input.f32")
        fixtureInput = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    @Test func tq1_0MatchesGGUFPython() throws {
        let bytes = try TernaryEncoding.tq1_0.encode(fixtureInput, rows: 4, cols: 512)
        #expect(bytes == [UInt8](try fixture("ternary_tq1_0.bin")))
    }

    @Test func tq2_0MatchesGGUFPython() throws {
        let bytes = try TernaryEncoding.tq2_0.encode(fixtureInput, rows: 4, cols: 512)
        #expect(bytes == [UInt8](try fixture("ternary_tq2_0.bin")))
    }

    @Test func fixtureDecodesToTiesRoundedAwayFromZero() throws {
        // Row 2 repeats 3·[-1, -0.5, 0, 0.5, 1, 0.49, -0.51, 0.25]; block absmax is 3.
        for encoding in [TernaryEncoding.tq1_0, .tq2_0] {
            let decoded = try encoding.decode([UInt8](try fixture("ternary_\(encoding.rawValue).bin")), rows: 4, cols: 512)
            #expect(Array(decoded[1024..<1032]) == [-3, -3, 0, 3, 3, 0, -3, 0])
            #expect(decoded[512 + 256..<1024].allSatisfy { $0 == 0 })
        }
    }

    @Test(arguments: TernaryEncoding.allCases)
    func roundTripsRaggedRows(encoding: TernaryEncoding) throws {
        for (rows, cols) in [(1, 1), (3, 300), (5, 257), (2, 1000), (4, 512)] {
            var rng = TestRandom(seed: UInt64(rows * 1000 + cols))
            let values = (0..<rows * cols).map { _ in 0.5 * rng.trit() }
            let bytes = try encoding.encode(values, rows: rows, cols: cols)
            #expect(bytes.count == encoding.byteCount(rows: rows, cols: cols))
            #expect(try encoding.decode(bytes, rows: rows, cols: cols) == values)
            let matrix = try TernaryMatrix.repacking(bytes, encoding: encoding, rows: rows, cols: cols)
            for r in 0..<rows {
                #expect(matrix.values(row: r) == Array(values[r * cols..<(r + 1) * cols]))
            }
        }
    }

    @Test func engineLayoutIsOnePointSixBitsPerWeight() throws {
        let (m, _) = try ternaryMatrix(rows: 2, cols: 2560, seed: 1)
        #expect(m.rowBytes * 8 == 2560 * 16 / 10)
    }

    @Test func i2sKeepsOneTensorScale() throws {
        let values: [Float] = [0.3, -0.3, 0, 0.3, 0.0000001, -0.3]
        let bytes = try TernaryEncoding.i2s.encode(values, rows: 2, cols: 3)
        #expect(bytes.count == 128 / 4 + 32)
        #expect(try TernaryEncoding.i2s.decode(bytes, rows: 2, cols: 3) == [0.3, -0.3, 0, 0.3, 0, -0.3])
    }

    @Test func ternarizeUsesAbsmean() {
        var w: [Float] = [0.1, -2, 0.6, 0]
        let gamma = TernaryEncoding.ternarize(&w)
        #expect(gamma == 0.675)
        #expect(w == [0, -0.675, 0.675, 0])
        var zeros: [Float] = [0, 0]
        #expect(TernaryEncoding.ternarize(&zeros) == 0)
        #expect(zeros == [0, 0])
    }

    @Test func rowsWithMixedBlockScalesAreNamed() throws {
        let bytes = [UInt8](try fixture("ternary_tq2_0.bin"))
        #expect(throws: TernaryError.mixedBlockScales(encoding: .tq2_0, row: 0)) {
            try TernaryMatrix.repacking(bytes, encoding: .tq2_0, rows: 4, cols: 512)
        }
    }

    @Test func wrongByteCountThrowsNamingTheShape() throws {
        let error = #expect(throws: TensorShapeError.self) {
            try TernaryEncoding.tq1_0.decode([UInt8](repeating: 0, count: 10), rows: 2, cols: 300)
        }
        #expect(error?.description.contains("2x300") == true)
        #expect(throws: TensorShapeError.self) {
            try TernaryMatrix.repacking([UInt8](repeating: 0, count: 65), encoding: .tq2_0, rows: 1, cols: 256)
        }
        #expect(throws: TensorShapeError.self) { try TernaryEncoding.i2s.encode([1, 2, 3], rows: 2, cols: 2) }
    }
}
