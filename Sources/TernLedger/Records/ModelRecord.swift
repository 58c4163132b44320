import GRDB

/// A model file known to this node, addressed by the BLAKE2b hash of its bytes.
/// `path` is nil when the node knows of the model but does not hold it. `blobID` names the
/// blob store entry holding the file (models added through the store use the blob id as
/// their content hash too).
public struct ModelRecord: LedgerRecord, Equatable {
    public static let databaseTableName = "models"

    public var contentHash: String
    public var name: String
    public var architecture: String
    public var fileSize: Int64
    public var tensorTypes: [String]
    public var path: String?
    public var blobID: String?

    public init(
        contentHash: String, name: String, architecture: String, fileSize: Int64, tensorTypes: [String], path: String?,
        blobID: String? = nil
    ) {
        self.contentHash = contentHash
        self.name = name
        self.architecture = architecture
        self.fileSize = fileSize
        self.tensorTypes = tensorTypes
        self.path = path
        self.blobID = blobID
    }

    // `blob_id` reads back as `blobId`.
    enum CodingKeys: String, CodingKey {
        case contentHash, name, architecture, fileSize, tensorTypes, path, blobID = "blobId"
    }
}
