/// Why bytes from the network (or a file) could not be decoded. Every decoder in TernMesh
/// throws one of these instead of trapping, whatever the input.
public enum WireError: Error, Equatable, CustomStringConvertible {
    /// The input ended before `field` (which needed `needed` more bytes).
    case truncated(field: String, needed: Int, available: Int)
    /// A length or count field exceeds its hard limit.
    case tooLong(field: String, length: Int, limit: Int)
    /// A field holds a value the format does not define.
    case invalidValue(field: String, value: UInt64)
    case invalidUTF8(field: String)
    /// Bytes left over after a complete record: the encoding is canonical, so this is an error.
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case let .truncated(field, needed, available):
            return "truncated input: \(field) needs \(needed) bytes, \(available) left"
        case let .tooLong(field, length, limit):
            return "\(field) is \(length) long, the limit is \(limit)"
        case let .invalidValue(field, value):
            return "\(field) has undefined value \(value)"
        case let .invalidUTF8(field):
            return "\(field) is not valid UTF-8"
        case let .trailingBytes(count):
            return "\(count) unexpected bytes after the end of the record"
        }
    }
}
