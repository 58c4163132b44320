import GRDB

/// A model file known to this node, addressed by the BLAKE2b hash of its bytes.
/// `path` is nil when the node knows of the model but does not hold it.
public struct ModelRecord: LedgerRecord, Equatable {
    public static let databaseTableName = "models"

    public var contentHash: String
    public var name: String
    public var architecture: String
    public var fileSize: Int64
    public var tensorTypes: [String]
    public var path: String?

    public init(contentHash: String, name: String, architecture: String, fileSize: Int64, tensorTypes: [String], path: String?) {
        self.contentHash = contentHash
        self.name = name
        self.architecture = architecture
        self.fileSize = fileSize
        self.tensorTypes = tensorTypes
        self.path = path
    }
}
