import Foundation

/// Writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// mapping each tensor name to its dtype, shape and `data_offsets` (begin/end in the data
/// section that follows), padded with spaces to a multiple of 8 bytes, then the raw
/// little-endian tensor bytes in header order.
public struct SafeTensorsWriter: Sendable {
    private var entries: [(name: String, shape: [Int], values: [Float])] = []
    private var metadata: [String: String]

    public init(metadata: [String: String] = ["format": "pt"]) {
        self.metadata = metadata
    }

    /// Adds an F32 tensor; `values` are row-major in `shape`.
    public mutating func add(name: String, shape: [Int], values: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw SafeTensorsError.shapeMismatch(name: name, shape: shape, values: values.count)
        }
        guard !entries.contains(where: { $0.name == name }), name != "__metadata__" else {
            throw SafeTensorsError.duplicateName(name)
        }
        entries.append((name, shape, values))
    }

    public func serialized() throws -> [UInt8] {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for entry in entries {
            let size = entry.values.count * MemoryLayout<Float>.size
            header[entry.name] = ["dtype": "F32", "shape": entry.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var json = Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        json += repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        var out: [UInt8] = []
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
        out += json
        for entry in entries {
            for value in entry.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { out += $0 } }
        }
        return out
    }
}

public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    case shapeMismatch(name: String, shape: [Int], values: Int)
    case duplicateName(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let name, let shape, let values):
            "safetensors tensor \(name): shape \(shape) does not hold \(values) values"
        case .duplicateName(let name):
            "safetensors tensor name \(name) is used twice (or reserved)"
        }
    }
}
