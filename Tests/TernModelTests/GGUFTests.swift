#if canImport(Glibc)
import Glibc
#endif
import Testing
import TernModel

/// A small valid GGUF image with every metadata type and a few tensor types.
func sampleGGUF(alignment: Int = 32) throws -> [UInt8] {
    var w = try GGUFWriter(alignment: alignment)
    try w.set("general.architecture", .string("llama"))
    try w.set("test.u8", .uint8(200))
    try w.set("test.i8", .int8(-5))
    try w.set("test.u16", .uint16(60000))
    try w.set("test.i16", .int16(-30000))
    try w.set("test.u32", .uint32(4_000_000_000))
    try w.set("test.i32", .int32(-2_000_000_000))
    try w.set("test.u64", .uint64(1 << 40))
    try w.set("test.i64", .int64(-(1 << 40)))
    try w.set("test.f32", .float32(1.5))
    try w.set("test.f64", .float64(-2.25))
    try w.set("test.bool", .bool(true))
    try w.set("test.string", .string("héllo"))
    try w.set("test.empty", .array(.int32, []))
    try w.set("test.nested", .array(.array, [.array(.uint8, [.uint8(1), .uint8(2)]), .array(.uint8, [])]))
    try w.set("test.strings", .strings(["a", "", "ü"]))
    try w.addTensor(name: "f32", type: .f32, dimensions: [3, 2], data: (0..<24).map(UInt8.init))
    try w.addTensor(name: "q8", type: .q8_0, dimensions: [32, 2], data: Array(repeating: 7, count: 68))
    try w.addTensor(name: "tq2", type: .tq2_0, dimensions: [256], data: Array(repeating: 9, count: 66))
    try w.addTensor(name: "i2s", type: .i2s, dimensions: [128, 2], data: Array(repeating: 1, count: 64 + 32))
    return w.serialized()
}

@Suite struct GGUFTests {
    @Test func roundTripsMetadataAndTensors() throws {
        let file = try GGUFFile(bytes: sampleGGUF())
        #expect(file.version == 3)
        #expect(file.metadata["test.u8"] == .uint8(200))
        #expect(file.metadata["test.i64"]?.intValue == -(1 << 40))
        #expect(file.metadata["test.f64"]?.doubleValue == -2.25)
        #expect(file.metadata["test.string"]?.stringValue == "héllo")
        #expect(file.metadata["test.empty"] == .array(.int32, []))
        #expect(file.metadata["test.nested"]?.arrayValue?.first?.arrayValue == [.uint8(1), .uint8(2)])
        #expect(file.metadataKeys.first == "general.architecture")
        #expect(file.tensors.map(\.name) == ["f32", "q8", "tq2", "i2s"])
        let f32 = try #require(file.tensor(named: "f32"))
        #expect(f32.dimensions == [3, 2] && f32.rowCount == 2 && f32.byteCount == 24)
        #expect(Array(file.data(of: f32)) == (0..<24).map(UInt8.init))
        #expect(f32.fileOffset % 32 == 0)
        let i2s = try #require(file.tensor(named: "i2s"))
        #expect(i2s.byteCount == 96)
        #expect(Array(file.data(of: try #require(file.tensor(named: "tq2")))) == Array(repeating: 9, count: 66))
    }

    @Test func customAlignmentIsWrittenAndHonoured() throws {
        let file = try GGUFFile(bytes: sampleGGUF(alignment: 64))
        #expect(file.alignment == 64)
        #expect(file.tensors.allSatisfy { $0.fileOffset % 64 == 0 })
    }

    @Test func tensorTypeSizes() {
        #expect(GGUFTensorType.q4_1.byteCount(elements: 64) == 40)
        #expect(GGUFTensorType.q4_K.byteCount(elements: 512) == 288)
        #expect(GGUFTensorType.q6_K.byteCount(elements: 256) == 210)
        #expect(GGUFTensorType.tq1_0.byteCount(elements: 256) == 54)
        #expect(GGUFTensorType.bf16.byteCount(elements: 3) == 6)
        #expect(GGUFTensorType.i2s.byteCount(elements: 2560 * 2560) == 2560 * 2560 / 4 + 32)
        #expect(GGUFTensorType.q8_0.byteCount(elements: 33) == nil)
    }

    @Test func writerRejectsWrongSizesAndMixedArrays() throws {
        var w = try GGUFWriter()
        #expect(throws: GGUFError.dataSizeMismatch(tensor: "t", expected: 8, got: 4)) {
            try w.addTensor(name: "t", type: .f32, dimensions: [2], data: [0, 0, 0, 0])
        }
        #expect(throws: GGUFError.self) { try w.addTensor(name: "q", type: .q4_0, dimensions: [31], data: []) }
        #expect(throws: GGUFError.self) { try w.set("bad", .array(.uint32, [.string("x")])) }
        #expect(throws: GGUFError.self) { _ = try GGUFWriter(alignment: 24) }
        #expect(throws: GGUFError.self) { try w.set("general.alignment", .uint32(64)) }
        try w.set("general.alignment", .uint32(32))
    }

    @Test func rejectsMalformedFiles() throws {
        let good = try sampleGGUF()
        func parse(_ bytes: [UInt8]) -> GGUFError? {
            do {
                _ = try GGUFFile(bytes: bytes)
                return nil
            } catch let e as GGUFError {
                return e
            } catch {
                return nil
            }
        }
        var magic = good
        magic[0] = 0x47 + 1
        #expect(parse(magic).map { "\($0)".contains("not a GGUF file") } == true)

        var version = good
        version[4] = 9
        #expect(parse(version) == .unsupportedVersion(9))

        var bigEndian = good
        bigEndian.replaceSubrange(4..<8, with: [0, 0, 0, 3])
        #expect(parse(bigEndian) == .bigEndianNotSupported)

        let truncated = Array(good.prefix(good.count - 10))
        guard case .tensorOutOfBounds(let tensor, _, _, _) = parse(truncated) else {
            Issue.record("truncated data should be out of bounds")
            return
        }
        #expect(tensor == "i2s")

        #expect(parse(Array(good.prefix(30))).map { "\($0)".contains("truncated") } == true)
        #expect(parse([]) != nil)

        var hugeCount = good
        hugeCount.replaceSubrange(8..<16, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        #expect(parse(hugeCount).map { "\($0)".contains("tensor count") } == true)
    }

    @Test func rejectsAbsurdDimensionsUnknownTypesAndBadOffsets() throws {
        func image(dims: [UInt64], type: UInt32, offset: UInt64) -> [UInt8] {
            var out: [UInt8] = []
            func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
            le(UInt32(0x4655_4747)); le(UInt32(3)); le(UInt64(1)); le(UInt64(0))
            le(UInt64(4)); out.append(contentsOf: Array("w.in".utf8))
            le(UInt32(dims.count)); dims.forEach { le($0) }
            le(type); le(offset)
            out.append(contentsOf: repeatElement(0, count: 256))
            return out
        }
        #expect(throws: GGUFError.badDimensions(tensor: "w.in", dimensions: [1 << 30, 1 << 30], reason: "more than 1099511627776 elements")) {
            try GGUFFile(bytes: image(dims: [1 << 30, 1 << 30], type: 0, offset: 0))
        }
        #expect(throws: GGUFError.unknownTensorType(tensor: "w.in", typeID: 13)) {
            try GGUFFile(bytes: image(dims: [256], type: 13, offset: 0))
        }
        #expect("\(GGUFError.unknownTensorType(tensor: "w.in", typeID: 13))".contains("Q5_K"))
        #expect(throws: GGUFError.misalignedTensor(tensor: "w.in", offset: 4, alignment: 32)) {
            try GGUFFile(bytes: image(dims: [4], type: 0, offset: 4))
        }
        #expect(throws: GGUFError.self) { try GGUFFile(bytes: image(dims: [4], type: 0, offset: 1 << 62)) }
        #expect(throws: GGUFError.self) { try GGUFFile(bytes: image(dims: [1, 1, 1, 1, 1], type: 0, offset: 0)) }
        #expect(throws: GGUFError.rowNotMultipleOfBlock(tensor: "w.in", type: "Q8_0", rowLength: 16, blockSize: 32)) {
            try GGUFFile(bytes: image(dims: [16], type: 8, offset: 0))
        }
    }

    /// Seeded random corruption of a valid file: parsing must throw or succeed, never crash,
    /// and every tensor view a successful parse hands out must lie inside the file.
    @Test func survivesRandomMutations() throws {
        let good = try sampleGGUF()
        var random = RandomSource(seed: 0x7E57)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(3))
        var parsed = 0, rejected = 0
        for _ in 0..<20_000 where clock.now < deadline {
            var bytes = good
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 4 {
                case 0: bytes[at] ^= UInt8(1 << (random.next() % 8))
                case 1: bytes[at] = UInt8(truncatingIfNeeded: random.next())
                case 2: bytes.removeSubrange(at...)
                default: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: at)
                }
                if bytes.isEmpty { break }
            }
            do {
                let file = try GGUFFile(bytes: bytes)
                for t in file.tensors { #expect(t.fileOffset + t.byteCount <= bytes.count) }
                parsed += 1
            } catch is GGUFError {
                rejected += 1
            }
        }
        #expect(rejected > 0)
        #expect(parsed + rejected > 100)
    }

    /// Re-writing a file made by gguf-py (llama.cpp's writer) reproduces it byte for byte.
    @Test func rewritesAReferenceFileIdentically() throws {
        let path = try TestFixtures.modelPath(TestFixtures.bitnetTiny)
        let file = try GGUFFile(path: path)
        var w = try GGUFWriter(alignment: file.alignment)
        for key in file.metadataKeys { try w.set(key, file.metadata[key]!) }
        for t in file.tensors { try w.addTensor(name: t.name, type: t.type, dimensions: t.dimensions, data: Array(file.data(of: t))) }
        let bytes = w.serialized()
        #expect(bytes.count == file.fileSize)
        let same = bytes.withUnsafeBytes { rewritten in
            guard let handle = fopen(path, "rb") else { return false }
            defer { fclose(handle) }
            var disk = [UInt8](repeating: 0, count: file.fileSize)
            guard fread(&disk, 1, disk.count, handle) == disk.count else { return false }
            return disk.elementsEqual(rewritten)
        }
        #expect(same)
    }

    @Test func writesAndMapsAFile() throws {
        let path = "/tmp/tern-gguf-test-\(UInt32.random(in: 0...UInt32.max)).gguf"
        defer { _ = path.withCString { unlink($0) } }
        var w = try GGUFWriter()
        try w.set("general.architecture", .string("bitnet"))
        try w.addTensor(name: "x", type: .f16, dimensions: [4], data: [1, 2, 3, 4, 5, 6, 7, 8])
        try w.write(to: path)
        let file = try GGUFFile(path: path)
        #expect(Array(file.data(of: try #require(file.tensor(named: "x")))) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(throws: GGUFError.self) { try GGUFFile(path: path + ".missing") }
    }
}
