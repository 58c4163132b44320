/// A kernel was handed operands whose shapes or sizes do not fit together. The message
/// names both shapes so the caller can see which tensor was wrong.
public struct TensorShapeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// Throws unless `actual == expected`, naming what was checked. `what` is built only
    /// on failure: the kernels check shapes on every call, decode steps included, and an
    /// eagerly interpolated message would allocate a string each time.
    static func check(_ what: @autoclosure () -> String, expected: Int, actual: Int) throws {
        if expected != actual { throw TensorShapeError("\(what()): expected \(expected), got \(actual)") }
    }
}
