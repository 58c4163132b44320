import TernKernels

/// A parsed, fully validated GGUF v2/v3 file. Metadata is decoded eagerly; tensor data stays
/// in the mapped file and is handed out as views (`tensorData`) that live as long as `self`.
///
/// Every count, length, dimension, offset and size is checked against the file before it is
/// used, so a truncated or hostile file yields a `GGUFError` naming the problem.
public final class GGUFFile: Sendable {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" read as little-endian u32
    public static let defaultAlignment = 32
    /// Limits that no real model approaches; they keep a corrupt count from allocating wildly.
    public static let maxTensorCount = 1 << 20
    public static let maxMetadataCount = 1 << 20
    public static let maxDimensions = 4
    static let maxElementsPerTensor = 1 << 40
    static let maxArrayNesting = 4

    public let version: UInt32
    public let alignment: Int
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    public let fileSize: Int
    /// Offset of the data section (tensor offsets in the file are relative to this).
    public let dataOffset: Int

    private let storage: MappedBytes
    private let tensorIndex: [String: Int]

    /// Opens and validates the file at `path` (memory-mapped, read only).
    public convenience init(path: String) throws {
        try self.init(storage: MappedBytes(path: path))
    }

    /// Parses an in-memory GGUF image (a copy is kept).
    public convenience init(bytes: [UInt8]) throws {
        try self.init(storage: MappedBytes(copying: bytes))
    }

    private init(storage: MappedBytes) throws {
        self.storage = storage
        let bytes = storage.buffer
        var cursor = ByteCursor(bytes)
        fileSize = bytes.count

        let magic = try cursor.read(UInt32.self, "magic")
        guard magic == Self.magic else { throw GGUFError.badMagic(found: magic) }
        let version = try cursor.read(UInt32.self, "version")
        if version & 0xFFFF == 0, version.byteSwapped == 2 || version.byteSwapped == 3 {
            throw GGUFError.bigEndianNotSupported
        }
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        self.version = version

        let tensorCountOffset = cursor.offset
        let tensorCount = try cursor.read(UInt64.self, "tensor count")
        guard tensorCount <= UInt64(Self.maxTensorCount) else {
            throw GGUFError.countTooLarge(what: "tensor count", count: tensorCount, offset: tensorCountOffset)
        }
        let kvCountOffset = cursor.offset
        let kvCount = try cursor.read(UInt64.self, "metadata count")
        guard kvCount <= UInt64(Self.maxMetadataCount) else {
            throw GGUFError.countTooLarge(what: "metadata count", count: kvCount, offset: kvCountOffset)
        }
        // Each entry takes at least 13 bytes (key length, type, one-byte value).
        try cursor.require(Int(kvCount) * 13, "\(kvCount) metadata entries")

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        for index in 0..<Int(kvCount) {
            let key = try cursor.readString("key of metadata entry \(index)", maxLength: 1 << 16)
            let typeOffset = cursor.offset
            let rawType = try cursor.read(UInt32.self, "type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.unknownValueType(rawType, key: key, offset: typeOffset)
            }
            let value = try Self.readValue(type, key: key, depth: 0, cursor: &cursor)
            guard metadata.updateValue(value, forKey: key) == nil else { throw GGUFError.duplicateKey(key) }
            keys.append(key)
        }
        metadataKeys = keys
        self.metadata = metadata

        var alignment = Self.defaultAlignment
        if let value = metadata["general.alignment"] {
            guard let a = value.intValue else {
                throw GGUFError.wrongMetadataType(key: "general.alignment", expected: "an integer")
            }
            guard a > 0, a <= 65536, a & (a - 1) == 0 else { throw GGUFError.badAlignment(UInt64(a)) }
            alignment = a
        }
        self.alignment = alignment

        // Each tensor info takes at least 32 bytes (name length, rank, one dimension, type, offset).
        try cursor.require(Int(tensorCount) * 32, "\(tensorCount) tensor infos")
        var pending: [(name: String, type: GGUFTensorType, dims: [Int], offset: UInt64, bytes: Int)] = []
        var index: [String: Int] = [:]
        for i in 0..<Int(tensorCount) {
            let name = try cursor.readString("name of tensor \(i)", maxLength: 1 << 16)
            let dimsOffset = cursor.offset
            let dimCount = try cursor.read(UInt32.self, "dimension count of '\(name)'")
            guard dimCount >= 1, dimCount <= UInt32(Self.maxDimensions) else {
                throw GGUFError.countTooLarge(what: "dimension count of tensor '\(name)'", count: UInt64(dimCount), offset: dimsOffset)
            }
            var rawDims: [UInt64] = []
            for _ in 0..<dimCount { rawDims.append(try cursor.read(UInt64.self, "dimensions of '\(name)'")) }
            let dims = try Self.validatedDimensions(rawDims, tensor: name)
            let typeID = try cursor.read(UInt32.self, "type of '\(name)'")
            guard let type = GGUFTensorType(rawValue: typeID) else {
                throw GGUFError.unknownTensorType(tensor: name, typeID: typeID)
            }
            guard dims[0] % type.blockSize == 0 else {
                throw GGUFError.rowNotMultipleOfBlock(tensor: name, type: type.description, rowLength: dims[0], blockSize: type.blockSize)
            }
            guard let byteCount = type.byteCount(elements: dims.reduce(1, *)) else {
                throw GGUFError.badDimensions(tensor: name, dimensions: rawDims, reason: "size overflows")
            }
            let offset = try cursor.read(UInt64.self, "data offset of '\(name)'")
            guard offset % UInt64(alignment) == 0 else {
                throw GGUFError.misalignedTensor(tensor: name, offset: offset, alignment: alignment)
            }
            guard index.updateValue(i, forKey: name) == nil else { throw GGUFError.duplicateTensor(name) }
            pending.append((name, type, dims, offset, byteCount))
        }

        // The data section starts at the next multiple of the alignment after the infos.
        let dataOffset = (cursor.offset + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(pending.count)
        for t in pending {
            let available = max(0, bytes.count - dataOffset)
            guard t.offset <= UInt64(available), t.bytes <= available - Int(t.offset) else {
                throw GGUFError.tensorOutOfBounds(
                    tensor: t.name, start: UInt64(dataOffset) &+ t.offset, byteCount: t.bytes, fileSize: bytes.count)
            }
            tensors.append(GGUFTensorInfo(
                name: t.name, type: t.type, dimensions: t.dims,
                fileOffset: dataOffset + Int(t.offset), byteCount: t.bytes))
        }
        let byStart = tensors.sorted { $0.fileOffset < $1.fileOffset }
        for (a, b) in zip(byStart, byStart.dropFirst()) where a.fileOffset + a.byteCount > b.fileOffset {
            throw GGUFError.overlappingTensors(a.name, b.name)
        }
        self.tensors = tensors
        tensorIndex = index
    }

    /// The tensor called `name`, if the file has one.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// A read-only view of a tensor's bytes inside the mapped file; valid while `self` lives.
    /// A tensor info that does not lie inside this file (one from another file) gives an
    /// empty view rather than memory outside the mapping.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        guard tensor.fileOffset >= dataOffset, tensor.byteCount >= 0,
              tensor.byteCount <= storage.buffer.count - tensor.fileOffset else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(rebasing: storage.buffer[tensor.fileOffset..<tensor.fileOffset + tensor.byteCount])
    }

    /// Drops the resident pages of `bytes` (a view from `data(of:)`) once they have been
    /// copied into another form; see `MappedBytes.releaseResidentPages`. The view stays valid.
    public func releaseResidentPages(of bytes: UnsafeRawBufferPointer) {
        storage.releaseResidentPages(of: bytes)
    }

    /// Copies `bytes` (a view from `data(of:)`) into `out` with a read of the file rather
    /// than through the mapping, so nothing becomes resident; see `MappedBytes.read`.
    public func read(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) throws {
        try storage.read(bytes, into: out)
    }

    /// `ContentHash` of the whole file, read without mapping it (see `MappedBytes`).
    public func contentHash(pool: ThreadPool?) throws -> UInt64 {
        try storage.contentHash(pool: pool)
    }

    private static func validatedDimensions(_ raw: [UInt64], tensor: String) throws -> [Int] {
        var product: UInt64 = 1
        for d in raw {
            guard d <= UInt64(maxElementsPerTensor) else {
                throw GGUFError.badDimensions(tensor: tensor, dimensions: raw, reason: "a dimension exceeds \(maxElementsPerTensor)")
            }
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            guard !overflow, p <= UInt64(maxElementsPerTensor) else {
                throw GGUFError.badDimensions(tensor: tensor, dimensions: raw, reason: "more than \(maxElementsPerTensor) elements")
            }
            product = p
        }
        return raw.map { Int($0) }
    }

    private static func readValue(_ type: GGUFValueType, key: String, depth: Int, cursor: inout ByteCursor) throws -> GGUFValue {
        let what = "value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try cursor.read(UInt8.self, what))
        case .int8: return .int8(try cursor.read(Int8.self, what))
        case .uint16: return .uint16(try cursor.read(UInt16.self, what))
        case .int16: return .int16(try cursor.read(Int16.self, what))
        case .uint32: return .uint32(try cursor.read(UInt32.self, what))
        case .int32: return .int32(try cursor.read(Int32.self, what))
        case .uint64: return .uint64(try cursor.read(UInt64.self, what))
        case .int64: return .int64(try cursor.read(Int64.self, what))
        case .float32: return .float32(Float(bitPattern: try cursor.read(UInt32.self, what)))
        case .float64: return .float64(Double(bitPattern: try cursor.read(UInt64.self, what)))
        case .bool:
            let offset = cursor.offset
            let b = try cursor.read(UInt8.self, what)
            guard b <= 1 else { throw GGUFError.wrongMetadataType(key: key, expected: "a bool (0 or 1), found \(b) at offset \(offset)") }
            return .bool(b == 1)
        case .string: return .string(try cursor.readString(what))
        case .array:
            let start = cursor.offset
            guard depth < maxArrayNesting else { throw GGUFError.nestingTooDeep(key: key, offset: start) }
            let rawType = try cursor.read(UInt32.self, "element type of '\(key)'")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.unknownValueType(rawType, key: key, offset: start)
            }
            let countOffset = cursor.offset
            let count = try cursor.read(UInt64.self, "element count of '\(key)'")
            guard count <= UInt64(Int32.max) else {
                throw GGUFError.countTooLarge(what: "array count of '\(key)'", count: count, offset: countOffset)
            }
            try cursor.require(Int(count) * elementType.minimumEncodedSize, "\(count) elements of '\(key)'")
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                items.append(try readValue(elementType, key: key, depth: depth + 1, cursor: &cursor))
            }
            return .array(elementType, items)
        }
    }
}
