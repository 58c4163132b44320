import Foundation
import GRDB

/// The newest signed hardware profile of a node: the exact signed bytes (so it can be
/// re-gossiped and re-verified) plus the decoded columns that queries and `mesh peers` use.
public struct ProfileRecord: LedgerRecord, Equatable {
    public static let databaseTableName = "profiles"

    public var nodeID: String
    public var version: Int64
    public var signedBytes: Data
    public var deviceClass: String
    public var cores: Int
    public var ramBytes: Int64
    public var isa: [String]
    /// The node's kernel class name ("" when unknown).
    public var kernelClass: String
    public var gpusJSON: String
    public var gops: Double?
    public var receivedAt: Date

    public init(
        nodeID: String, version: Int64, signedBytes: Data, deviceClass: String, cores: Int,
        ramBytes: Int64, isa: [String], kernelClass: String = "", gpusJSON: String, gops: Double?, receivedAt: Date
    ) {
        self.nodeID = nodeID
        self.version = version
        self.signedBytes = signedBytes
        self.deviceClass = deviceClass
        self.cores = cores
        self.ramBytes = ramBytes
        self.isa = isa
        self.kernelClass = kernelClass
        self.gpusJSON = gpusJSON
        self.gops = gops
        self.receivedAt = receivedAt
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "nodeId", version, signedBytes, deviceClass, cores, ramBytes, isa, kernelClass
        case gpusJSON = "gpusJson", gops, receivedAt
    }
}
