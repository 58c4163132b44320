import Foundation

/// Envelope sequence numbers that keep rising across restarts, from a counter persisted in
/// the data directory rather than read off the wall clock (a clock can step back).
///
/// The file holds a reserved ceiling: a run may use numbers below it, and it reserves the
/// next block (written and fsync'd) before it reaches it. A restart starts at the ceiling,
/// above anything the previous run sent, so peers' replay windows accept it at once while a
/// recorded datagram of the previous run stays a replay.
public struct SequenceCounter: Sendable {
    public static let fileName = "sequence"
    public static let block: UInt64 = 1 << 16

    public let path: String
    public private(set) var next: UInt64
    private var ceiling: UInt64

    public init(directory: URL) throws {
        path = directory.appendingPathComponent(Self.fileName).path
        var stored: UInt64 = 0
        if let contents = FileManager.default.contents(atPath: path) {
            let text = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let value = UInt64(text) else {
                // Starting over at zero would make peers drop every datagram as stale.
                throw NodeError.startup("sequence counter \(path) is corrupt ('\(text.prefix(40))'); restore it or start with a new identity")
            }
            stored = value
        }
        guard stored < UInt64.max - Self.block * 2 else {
            throw NodeError.startup("sequence counter \(path) is exhausted (\(stored)); delete it only with a new identity")
        }
        next = stored
        ceiling = stored
        try reserve()
    }

    /// The next sequence number (reserves another block on disk when needed).
    public mutating func take() throws -> UInt64 {
        if next >= ceiling { try reserve() }
        defer { next += 1 }
        return next
    }

    private mutating func reserve() throws {
        let newCeiling = ceiling + Self.block
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw NodeError.startup("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let text = Array("\(newCeiling)\n".utf8)
        let written = write(descriptor, text, text.count)
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == text.count, synced == 0, rename(temporary, path) == 0 else {
            throw NodeError.startup("cannot persist the sequence counter at \(path): \(String(cString: strerror(errno)))")
        }
        ceiling = newCeiling
    }
}
