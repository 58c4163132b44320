#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a GGUF v3 file: metadata in insertion order, then tensor infos, then each tensor's
/// data padded to the alignment. Used by `tern convert`, `tern model synth` and adapter export.
public struct GGUFWriter: Sendable {
    public struct Tensor: Sendable {
        public let name: String
        public let type: GGUFTensorType
        public let dimensions: [Int]
        public let data: [UInt8]
    }

    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    public private(set) var tensors: [Tensor] = []
    public let alignment: Int

    /// `alignment` other than 32 is recorded as `general.alignment`.
    public init(alignment: Int = GGUFFile.defaultAlignment) throws {
        guard alignment > 0, alignment <= 65536, alignment & (alignment - 1) == 0 else {
            throw GGUFError.badAlignment(UInt64(max(0, alignment)))
        }
        self.alignment = alignment
        if alignment != GGUFFile.defaultAlignment {
            metadata.append(("general.alignment", .uint32(UInt32(alignment))))
        }
    }

    /// Sets `key`, replacing an earlier value in place. Arrays must hold only values of
    /// their declared element type.
    public mutating func set(_ key: String, _ value: GGUFValue) throws {
        guard value.isWellFormed else {
            throw GGUFError.wrongMetadataType(key: key, expected: "an array whose elements all have its declared type")
        }
        // The alignment decides the layout, so it is fixed when the writer is made.
        if key == "general.alignment", value.intValue != alignment {
            throw GGUFError.wrongMetadataType(key: key, expected: "\(alignment), the writer's alignment (set it with GGUFWriter(alignment:))")
        }
        if let i = metadata.firstIndex(where: { $0.key == key }) {
            metadata[i].value = value
        } else {
            metadata.append((key, value))
        }
    }

    /// Adds a tensor; its byte count must match its type and dimensions exactly.
    public mutating func addTensor(name: String, type: GGUFTensorType, dimensions: [Int], data: [UInt8]) throws {
        guard !tensors.contains(where: { $0.name == name }) else { throw GGUFError.duplicateTensor(name) }
        let raw = dimensions.map { UInt64(max(0, $0)) }
        guard (1...GGUFFile.maxDimensions).contains(dimensions.count), dimensions.allSatisfy({ $0 >= 0 }) else {
            throw GGUFError.badDimensions(tensor: name, dimensions: raw, reason: "need 1 to 4 non-negative dimensions")
        }
        guard dimensions[0] % type.blockSize == 0 else {
            throw GGUFError.rowNotMultipleOfBlock(tensor: name, type: type.description, rowLength: dimensions[0], blockSize: type.blockSize)
        }
        var elements = 1
        for d in dimensions {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw GGUFError.badDimensions(tensor: name, dimensions: raw, reason: "size overflows") }
            elements = p
        }
        guard let expected = type.byteCount(elements: elements) else {
            throw GGUFError.badDimensions(tensor: name, dimensions: raw, reason: "size overflows")
        }
        guard expected == data.count else { throw GGUFError.dataSizeMismatch(tensor: name, expected: expected, got: data.count) }
        tensors.append(Tensor(name: name, type: type, dimensions: dimensions, data: data))
    }

    /// The complete file image.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.appendLE(GGUFFile.magic)
        out.appendLE(UInt32(3))
        out.appendLE(UInt64(tensors.count))
        out.appendLE(UInt64(metadata.count))
        for (key, value) in metadata {
            out.appendString(key)
            out.appendLE(value.type.rawValue)
            out.appendValue(value)
        }
        var offset = 0
        for t in tensors {
            out.appendString(t.name)
            out.appendLE(UInt32(t.dimensions.count))
            for d in t.dimensions { out.appendLE(UInt64(d)) }
            out.appendLE(t.type.rawValue)
            out.appendLE(UInt64(offset))
            offset += padded(t.data.count)
        }
        out.append(contentsOf: repeatElement(0, count: padded(out.count) - out.count))
        for t in tensors {
            out.append(contentsOf: t.data)
            out.append(contentsOf: repeatElement(0, count: padded(t.data.count) - t.data.count))
        }
        return out
    }

    /// Writes the file atomically (temporary file, then rename).
    public func write(to path: String) throws {
        let bytes = serialized()
        let temporary = path + ".partial"
        guard let file = fopen(temporary, "wb") else {
            throw GGUFError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file)
        guard written == bytes.count, closed == 0 else {
            unlink(temporary)
            throw GGUFError.writeFailed(path: path, reason: "short write (\(written) of \(bytes.count) bytes)")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw GGUFError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }

    private func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
}

private extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendString(_ s: String) {
        let utf8 = Array(s.utf8)
        appendLE(UInt64(utf8.count))
        append(contentsOf: utf8)
    }

    mutating func appendValue(_ value: GGUFValue) {
        switch value {
        case .uint8(let v): appendLE(v)
        case .int8(let v): appendLE(v)
        case .uint16(let v): appendLE(v)
        case .int16(let v): appendLE(v)
        case .uint32(let v): appendLE(v)
        case .int32(let v): appendLE(v)
        case .uint64(let v): appendLE(v)
        case .int64(let v): appendLE(v)
        case .float32(let v): appendLE(v.bitPattern)
        case .float64(let v): appendLE(v.bitPattern)
        case .bool(let v): append(v ? 1 : 0)
        case .string(let s): appendString(s)
        case .array(let type, let items):
            appendLE(type.rawValue)
            appendLE(UInt64(items.count))
            for item in items { appendValue(item) }
        }
    }
}
