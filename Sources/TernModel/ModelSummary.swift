/// What `tern model info` reports about a GGUF file. Each section that can fail on its own
/// (hyper-parameters, tokenizer, chat template) carries either its value or the error text,
/// so that info still works on adapters and on models Tern cannot run.
public struct ModelSummary: Sendable, Codable, Equatable {
    public struct TokenizerSummary: Sendable, Codable, Equatable {
        public var model: String
        public var preTokenizer: String?
        public var vocabularySize: Int
        public var bosID: Int32?
        public var eosID: Int32?
        public var addsBOS: Bool
        public var endOfGenerationIDs: [Int32]
    }

    public struct TensorTypeSummary: Sendable, Codable, Equatable {
        public var type: String
        public var count: Int
        public var bytes: Int
    }

    public var fileSize: Int
    public var ggufVersion: UInt32
    public var alignment: Int
    public var metadataCount: Int
    public var name: String?
    /// `general.type`: `model`, or `adapter` for LoRA files.
    public var fileType: String?
    public var architecture: String?
    public var hyperParameters: ModelHyperParameters?
    public var hyperParametersError: String?
    public var tiedEmbeddings: Bool?
    public var tokenizer: TokenizerSummary?
    public var tokenizerError: String?
    public var chatTemplate: String?
    public var chatTemplateError: String?
    public var tensorCount: Int
    public var parameterCount: Int
    /// Per tensor type, largest share first.
    public var tensorTypes: [TensorTypeSummary]

    public init(file: GGUFFile) {
        fileSize = file.fileSize
        ggufVersion = file.version
        alignment = file.alignment
        metadataCount = file.metadata.count
        name = file.metadata["general.name"]?.stringValue
        fileType = file.metadata["general.type"]?.stringValue
        architecture = file.metadata["general.architecture"]?.stringValue
        do {
            let hp = try ModelHyperParameters(metadata: file.metadata)
            hyperParameters = hp
            tiedEmbeddings = try ModelTensorLayout(file: file, parameters: hp).tiedEmbeddings
        } catch {
            hyperParametersError = "\(error)"
        }
        do {
            let t = try Tokenizer(file: file)
            tokenizer = TokenizerSummary(
                model: t.model.rawValue, preTokenizer: t.preTokenizer?.rawValue, vocabularySize: t.vocabularySize,
                bosID: t.bosID, eosID: t.eosID, addsBOS: t.addsBOS, endOfGenerationIDs: t.endOfGenerationIDs.sorted())
        } catch {
            tokenizerError = "\(error)"
        }
        do {
            chatTemplate = try ChatTemplate(file: file).name
        } catch {
            chatTemplateError = "\(error)"
        }
        tensorCount = file.tensors.count
        parameterCount = file.tensors.reduce(0) { $0 + $1.elementCount }
        var byType: [GGUFTensorType: TensorTypeSummary] = [:]
        for t in file.tensors {
            byType[t.type, default: TensorTypeSummary(type: t.type.description, count: 0, bytes: 0)].count += 1
            byType[t.type]!.bytes += t.byteCount
        }
        tensorTypes = byType.values.sorted { $0.bytes > $1.bytes || ($0.bytes == $1.bytes && $0.type < $1.type) }
    }
}
