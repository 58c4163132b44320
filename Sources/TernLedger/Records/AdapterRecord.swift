import Foundation
import GRDB

/// A LoRA adapter: what it was trained on and from, its shape, and the blob holding it.
public struct AdapterRecord: LedgerRecord, Equatable {
    public static let databaseTableName = "adapters"

    public var hash: String
    public var baseModelHash: String
    public var rank: Int
    public var alpha: Double
    public var modules: [String]
    public var datasetHash: String?
    public var metricsJSON: String
    public var blobHash: String
    public var createdAt: Date

    public init(
        hash: String, baseModelHash: String, rank: Int, alpha: Double, modules: [String],
        datasetHash: String?, metricsJSON: String = "{}", blobHash: String, createdAt: Date
    ) {
        self.hash = hash
        self.baseModelHash = baseModelHash
        self.rank = rank
        self.alpha = alpha
        self.modules = modules
        self.datasetHash = datasetHash
        self.metricsJSON = metricsJSON
        self.blobHash = blobHash
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case hash, baseModelHash, rank, alpha, modules, datasetHash
        case metricsJSON = "metricsJson", blobHash, createdAt
    }
}
