import TernMesh
import TernModel

/// `tern fuzz gguf`: model files through `GGUFFile(bytes:)`, and each accepted one through
/// what reads it next: `ModelSummary` and the tokenizer (built, then encoding and decoding a
/// string with special tokens, non-ASCII text and out-of-range ids). The sample is the same
/// small chat model the model-file fuzz tests use.
public struct ModelFileFuzzTarget: FuzzTarget {
    public let name = "gguf"
    public let samples: [[UInt8]]

    public init() throws {
        samples = [try ModelFileFuzzSamples.tinyChatModel()]
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        let file: GGUFFile
        do {
            file = try GGUFFile(bytes: input)
        } catch let error as GGUFError {
            return .rejected(error.fuzzLabel)
        } catch {
            return .rejected("other")
        }
        _ = ModelSummary(file: file)
        guard let tokenizer = try? Tokenizer(file: file) else { return .accepted("withoutTokenizer") }
        let ids = tokenizer.encode("<|im_start|>hello wörld 123")
        _ = tokenizer.decode(ids + [-1, Int32.max])
        return .accepted("withTokenizer")
    }
}

extension GGUFError {
    /// The case name, to count rejections by kind.
    var fuzzLabel: String {
        switch self {
        case .cannotOpen: "cannotOpen"
        case .badMagic: "badMagic"
        case .bigEndianNotSupported: "bigEndianNotSupported"
        case .unsupportedVersion: "unsupportedVersion"
        case .truncated: "truncated"
        case .countTooLarge: "countTooLarge"
        case .invalidString: "invalidString"
        case .unknownValueType: "unknownValueType"
        case .nestingTooDeep: "nestingTooDeep"
        case .duplicateKey: "duplicateKey"
        case .duplicateTensor: "duplicateTensor"
        case .badAlignment: "badAlignment"
        case .wrongMetadataType: "wrongMetadataType"
        case .missingMetadata: "missingMetadata"
        case .badDimensions: "badDimensions"
        case .unknownTensorType: "unknownTensorType"
        case .rowNotMultipleOfBlock: "rowNotMultipleOfBlock"
        case .misalignedTensor: "misalignedTensor"
        case .tensorOutOfBounds: "tensorOutOfBounds"
        case .overlappingTensors: "overlappingTensors"
        case .dataSizeMismatch: "dataSizeMismatch"
        case .writeFailed: "writeFailed"
        case .readFailed: "readFailed"
        }
    }
}
