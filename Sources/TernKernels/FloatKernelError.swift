/// Why a float or block-quantized kernel refused its arguments. Every check runs before
/// any memory is touched, so a bad shape never turns into an out-of-bounds access.
public enum FloatKernelError: Error, Equatable, CustomStringConvertible {
    /// `operation` needed a buffer or matrix of shape `expected` and got `actual`.
    case shapeMismatch(operation: String, expected: String, actual: String)
    /// A matrix view over `byteCount` bytes cannot hold `shape` in `format`, which needs `expected`.
    case byteCountMismatch(shape: String, format: String, expected: Int, byteCount: Int)
    /// A dimension or parameter that cannot work, with the reason.
    case invalidArgument(String)
    /// The CPU or build cannot run this variant of the kernel.
    case unsupportedVariant(FloatKernelVariant)
    case outOfMemory(operation: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(operation, expected, actual):
            return "\(operation): expected shape \(expected), got \(actual)"
        case let .byteCountMismatch(shape, format, expected, byteCount):
            return "a \(shape) \(format) matrix needs \(expected) bytes, the buffer has \(byteCount)"
        case let .invalidArgument(reason):
            return reason
        case let .unsupportedVariant(variant):
            return "the \(variant) kernel variant cannot run on this CPU"
        case let .outOfMemory(operation):
            return "\(operation): out of memory for scratch buffers"
        }
    }

    /// Maps a C kernel return code (tern_float.h) to an error; 0 is success.
    static func check(_ code: Int32, _ operation: @autoclosure () -> String, _ variant: FloatKernelVariant) throws {
        switch code {
        case 0: return
        case -2: throw FloatKernelError.outOfMemory(operation: operation())
        default: throw FloatKernelError.unsupportedVariant(variant)
        }
    }

    /// a·b for sizes, failing instead of overflowing.
    static func product(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws -> Int {
        guard a >= 0, b >= 0 else { throw FloatKernelError.invalidArgument("\(what()): negative dimension \(a)×\(b)") }
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw FloatKernelError.invalidArgument("\(what()): \(a)×\(b) overflows") }
        return p
    }

    /// The shape checks every matrix product shares: its input holds n × `input.width`
    /// values and its output n × `output.width` (names such as "X", "Y", "G", "DX").
    static func expectProduct(_ operation: @autoclosure () -> String, rows n: Int,
                              input: (name: StaticString, count: Int, width: Int),
                              output: (name: StaticString, count: Int, width: Int)) throws {
        func expect(_ operand: (name: StaticString, count: Int, width: Int)) throws {
            try expectCount(operand.count, try product(n, operand.width, operation()), operation(),
                            "\(operand.name) \(n)×\(operand.width)")
        }
        try expect(input)
        try expect(output)
    }

    /// Throws `shapeMismatch` unless `count == expected`.
    /// The operation and shape are built only on failure (no string per call on the decode path).
    static func expectCount(_ count: Int, _ expected: Int, _ operation: @autoclosure () -> String,
                            _ expectedShape: @autoclosure () -> String) throws {
        guard count == expected else {
            throw FloatKernelError.shapeMismatch(operation: operation(), expected: "\(expectedShape()) (\(expected) values)",
                                                 actual: "\(count) values")
        }
    }
}
