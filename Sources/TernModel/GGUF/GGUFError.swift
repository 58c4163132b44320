/// Everything that can be wrong with a GGUF file. Each message says what is wrong and where
/// (byte offset, key or tensor name), so a user can tell a truncated download from a file
/// written by an incompatible tool.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case badMagic(found: UInt32)
    case bigEndianNotSupported
    case unsupportedVersion(UInt32)
    case truncated(offset: Int, needed: Int, what: String)
    case countTooLarge(what: String, count: UInt64, offset: Int)
    case invalidString(offset: Int)
    case unknownValueType(UInt32, key: String, offset: Int)
    case nestingTooDeep(key: String, offset: Int)
    case duplicateKey(String)
    case duplicateTensor(String)
    case badAlignment(UInt64)
    case wrongMetadataType(key: String, expected: String)
    case missingMetadata(key: String)
    case badDimensions(tensor: String, dimensions: [UInt64], reason: String)
    case unknownTensorType(tensor: String, typeID: UInt32)
    case rowNotMultipleOfBlock(tensor: String, type: String, rowLength: Int, blockSize: Int)
    case misalignedTensor(tensor: String, offset: UInt64, alignment: Int)
    case tensorOutOfBounds(tensor: String, start: UInt64, byteCount: Int, fileSize: Int)
    case overlappingTensors(String, String)
    case dataSizeMismatch(tensor: String, expected: Int, got: Int)
    case writeFailed(path: String, reason: String)
    case readFailed(offset: Int, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open GGUF file '\(path)': \(reason)"
        case .badMagic(let found):
            return "not a GGUF file: magic at offset 0 is 0x\(String(found, radix: 16)), expected 0x46554747 ('GGUF')"
        case .bigEndianNotSupported:
            return "big-endian GGUF files are not supported (the version field at offset 4 is byte-swapped)"
        case .unsupportedVersion(let v):
            return "unsupported GGUF version \(v) at offset 4 (supported: 2 and 3)"
        case .truncated(let offset, let needed, let what):
            return "GGUF file is truncated: \(what) at offset \(offset) needs \(needed) more bytes"
        case .countTooLarge(let what, let count, let offset):
            return "GGUF \(what) at offset \(offset) is absurdly large (\(count))"
        case .invalidString(let offset):
            return "GGUF string at offset \(offset) is not valid UTF-8"
        case .unknownValueType(let t, let key, let offset):
            return "metadata key '\(key)' has unknown value type \(t) at offset \(offset)"
        case .nestingTooDeep(let key, let offset):
            return "metadata key '\(key)' nests arrays too deeply at offset \(offset)"
        case .duplicateKey(let key):
            return "metadata key '\(key)' appears twice"
        case .duplicateTensor(let name):
            return "tensor '\(name)' appears twice"
        case .badAlignment(let a):
            return "general.alignment = \(a) is not a power of two between 1 and 65536"
        case .wrongMetadataType(let key, let expected):
            return "metadata key '\(key)' should be \(expected)"
        case .missingMetadata(let key):
            return "metadata key '\(key)' is missing"
        case .badDimensions(let tensor, let dims, let reason):
            return "tensor '\(tensor)' has bad dimensions \(dims): \(reason)"
        case .unknownTensorType(let tensor, let id):
            return "tensor '\(tensor)' has unsupported type \(GGUFTensorType.knownName(id: id)) (id \(id))"
        case .rowNotMultipleOfBlock(let tensor, let type, let row, let block):
            return "tensor '\(tensor)' of type \(type) has rows of \(row) values, not a multiple of the block size \(block)"
        case .misalignedTensor(let tensor, let offset, let alignment):
            return "tensor '\(tensor)' data offset \(offset) is not a multiple of the alignment \(alignment)"
        case .tensorOutOfBounds(let tensor, let start, let count, let size):
            return "tensor '\(tensor)' data (\(count) bytes at file offset \(start)) runs past the end of the file (\(size) bytes)"
        case .overlappingTensors(let a, let b):
            return "tensors '\(a)' and '\(b)' overlap in the data section"
        case .dataSizeMismatch(let tensor, let expected, let got):
            return "tensor '\(tensor)' needs \(expected) bytes of data, got \(got)"
        case .writeFailed(let path, let reason):
            return "cannot write GGUF file '\(path)': \(reason)"
        case .readFailed(let offset, let reason):
            return "cannot read the model file at offset \(offset): \(reason)"
        }
    }
}
