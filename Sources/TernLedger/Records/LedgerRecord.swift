import GRDB

/// A row of a ledger table: Swift properties in camelCase map to snake_case columns, and
/// array properties are stored as JSON text.
public protocol LedgerRecord: Codable, Sendable, FetchableRecord, PersistableRecord {}

extension LedgerRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}
