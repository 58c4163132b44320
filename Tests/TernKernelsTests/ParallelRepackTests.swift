import CTernary
import Foundation
import Testing
import TernKernels

/// Loading repacks rows on the thread pool; the engine layout must not depend on how many
/// threads did it (the layout cache stores those bytes, and logits must not change).
@Suite struct ParallelRepackTests {
    @Test(arguments: TernaryEncoding.allCases)
    func poolRepackEqualsSerial(encoding: TernaryEncoding) throws {
        let pools = [ThreadPool(threads: 2), ThreadPool(threads: 3)]
        for (rows, cols) in [(1, 1), (63, 300), (64, 257), (65, 2560), (300, 1000), (129, 6912)] {
            var rng = TestRandom(seed: UInt64(rows * 7919 + cols))
            let values = (0..<rows * cols).map { _ in 0.5 * rng.trit() }
            let bytes = try encoding.encode(values, rows: rows, cols: cols)
            let serial = try bytes.withUnsafeBytes { try TernaryMatrix(encoding: encoding, bytes: $0, rows: rows, cols: cols) }
            for pool in pools {
                let parallel = try bytes.withUnsafeBytes {
                    try TernaryMatrix(encoding: encoding, bytes: $0, rows: rows, cols: cols, pool: pool)
                }
                #expect(Array(parallel.bytes) == Array(serial.bytes), "\(encoding) \(rows)x\(cols), \(pool.threadCount) threads")
            }
        }
    }

    @Test func poolRepackNamesTheFirstRowWithMixedScales() throws {
        // Rows 70 and 200 of 256 get a second block with another scale; 64-row tasks find
        // both, and the error must name the lower one, as a serial scan does.
        var values = [Float](repeating: 0.5, count: 256 * 512)
        for row in [200, 70] { values[row * 512 + 300] = 0.75 }
        let bytes = try TernaryEncoding.tq2_0.encode(values, rows: 256, cols: 512)
        for pool in [nil, ThreadPool(threads: 2)] {
            #expect(throws: TernaryError.mixedBlockScales(encoding: .tq2_0, row: 70)) {
                try bytes.withUnsafeBytes { try TernaryMatrix(encoding: .tq2_0, bytes: $0, rows: 256, cols: 512, pool: pool) }
            }
        }
    }

    @Test func viewOverPackedBytesMultipliesLikeTheOriginal() throws {
        let (m, _) = try ternaryMatrix(rows: 40, cols: 700, seed: 3)
        let view = try TernaryMatrix(packed: m.bytes, rows: 40, cols: 700, owner: m)
        let x = try QuantizedActivations(randomActivations(tokens: 2, cols: 700, seed: 4), tokens: 2, cols: 700)
        #expect(try view.gemm(x) == m.gemm(x))
        #expect(throws: TensorShapeError.self) {
            try TernaryMatrix(packed: UnsafeRawBufferPointer(rebasing: m.bytes.dropLast()), rows: 40, cols: 700, owner: m)
        }
    }
}

@Suite struct ContentHashTests {
    @Test func xxh64MatchesTheReference() {
        #expect(tern_xxh64("", 0, 0) == 0xEF46_DB37_51D8_E999)
        #expect(tern_xxh64("abc", 3, 0) == 0x44BC_2CF5_AD77_0999)
        let bytes = (0..<1280).map { UInt8($0 & 255) }
        #expect(tern_xxh64(bytes, 1280, 7) == 0x133C_F6CA_9D1C_1256) // python xxhash.xxh64(bytes, seed=7)
    }

    @Test func chunkedHashIsTheSameOnAnyPoolAndSeesEveryByte() {
        var rng = TestRandom(seed: 9)
        var bytes = (0..<(3 << 20) + 17).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let serial = bytes.withUnsafeBytes { ContentHash.of($0, pool: nil) }
        #expect(bytes.withUnsafeBytes { ContentHash.of($0, pool: ThreadPool(threads: 2)) } == serial)
        for index in [0, 1 << 20, bytes.count - 1] {
            bytes[index] ^= 1
            #expect(bytes.withUnsafeBytes { ContentHash.of($0, pool: nil) } != serial, "byte \(index)")
            bytes[index] ^= 1
        }
        #expect(bytes.withUnsafeBytes { ContentHash.of(UnsafeRawBufferPointer(rebasing: $0.dropLast()), pool: nil) } != serial)
    }

    @Test func fileHashEqualsTheHashOfItsBytes() throws {
        var rng = TestRandom(seed: 11)
        let bytes = (0..<(2 << 20) + 5).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tern-hash-\(UUID().uuidString)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let fd = handle.fileDescriptor
        let expected = bytes.withUnsafeBytes { ContentHash.of($0, pool: nil) }
        #expect(ContentHash.ofFile(descriptor: fd, count: bytes.count, pool: ThreadPool(threads: 2)) == expected)
        #expect(ContentHash.ofFile(descriptor: fd, count: bytes.count + 1, pool: nil) == nil)
    }
}
