import Foundation

/// Which chunks of a blob are verified and on disk: one bit per chunk, bit i in byte i/8,
/// least significant first (the ledger's `chunk_bitmap` column holds exactly these bytes).
struct ChunkBitmap: Equatable, Sendable {
    let count: Int
    private(set) var bytes: [UInt8]
    private(set) var heldCount: Int

    /// No chunk held, or every one (`full`).
    init(count: Int, full: Bool = false) {
        self.count = count
        bytes = [UInt8](repeating: 0, count: (count + 7) / 8)
        heldCount = 0
        if full { for index in 0..<count { insert(index) } }
    }

    /// The bitmap stored in the ledger; nil unless it has the length `count` needs and no
    /// bit past the last chunk.
    init?(count: Int, data: Data) {
        self.init(count: count)
        guard data.count == bytes.count else { return nil }
        bytes = Array(data)
        if count % 8 != 0, let last = bytes.last, last >> (count % 8) != 0 { return nil }
        heldCount = bytes.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    subscript(index: Int) -> Bool { bytes[index / 8] & (1 << (index % 8)) != 0 }

    /// Marks `index` held; returns false when it already was.
    @discardableResult
    mutating func insert(_ index: Int) -> Bool {
        guard !self[index] else { return false }
        bytes[index / 8] |= 1 << (index % 8)
        heldCount += 1
        return true
    }

    var isFull: Bool { heldCount == count }
    var data: Data { Data(bytes) }
    var missing: [Int] { (0..<count).filter { !self[$0] } }
    var flags: [Bool] { (0..<count).map { self[$0] } }
}
