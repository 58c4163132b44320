/// Why a model cannot be ternarized into the requested format.
public enum TernaryConversionError: Error, Equatable, CustomStringConvertible {
    case rowLengthNotSupported(tensor: String, rowLength: Int, format: String)
    case tensorSizeNotSupported(tensor: String, elements: Int)

    public var description: String {
        switch self {
        case .rowLengthNotSupported(let tensor, let rowLength, let format):
            return "tensor '\(tensor)' has rows of \(rowLength) values, but \(format) needs a multiple of 256; "
                + "use --format i2_s (or native, which picks it) for this model"
        case .tensorSizeNotSupported(let tensor, let elements):
            return "tensor '\(tensor)' has \(elements) values; I2_S stores whole groups of 128, so this tensor cannot be written as I2_S"
        }
    }
}
