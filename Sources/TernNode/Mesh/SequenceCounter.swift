import Foundation

/// Envelope sequence numbers that keep rising across restarts, from a counter persisted in
/// the data directory rather than read off the wall clock (a clock can step back).
///
/// The file holds a reserved ceiling: a run may use numbers below it, and it reserves the
/// next block (written and fsync'd) before it reaches it. A restart starts at the ceiling,
/// above anything the previous run sent, so peers' replay windows accept it at once while a
/// recorded datagram of the previous run stays a replay.
struct SequenceCounter {
    static let fileName = "sequence"
    static let block: UInt64 = 1 << 16

    let path: String
    private(set) var next: UInt64
    private var ceiling: UInt64

    init(directory: URL) throws {
        path = directory.appendingPathComponent(Self.fileName).path
        let stored = FileManager.default.contents(atPath: path)
            .flatMap { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            .flatMap { UInt64($0) } ?? 0
        guard stored < UInt64.max - Self.block * 2 else {
            throw NodeError.startup("sequence counter \(path) is exhausted (\(stored)); delete it only with a new identity")
        }
        next = stored
        ceiling = stored
        try reserve()
    }

    /// The next sequence number (reserves another block on disk when needed).
    mutating func take() throws -> UInt64 {
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
