import Foundation

/// Keys and values of every cached position, float32, in fixed-size blocks of
/// `blockTokens` positions that sequences take and give back as they grow and finish
/// (paged attention): a sequence's cache is its list of block ids, handed out by a
/// `KVBlockAllocator`, so memory follows the tokens actually held, not the longest context
/// a sequence may reach.
///
/// A block holds, for every layer and KV head, `blockTokens` × `headDimension` keys and as
/// many values, contiguous, so attention multiplies one block's keys with the float GEMM in
/// place. The storage is one anonymous mapping reserved up front; a page becomes resident
/// when a block on it is first written, and the allocator hands out the lowest free ids
/// first, so a small workload keeps reusing the same pages.
final class PagedKVCache: @unchecked Sendable {
    let layers: Int
    let kvHeads: Int
    let headDimension: Int
    let blockTokens: Int
    let blockCount: Int

    private let storage: UnsafeMutableRawPointer
    private let storageBytes: Int

    /// Floats of one block for one layer and head (keys or values).
    var floatsPerHeadBlock: Int { blockTokens * headDimension }
    private var floatsPerBlock: Int { layers * kvHeads * floatsPerHeadBlock }

    /// Bytes one cached token takes (keys and values of every layer).
    static func bytesPerToken(layers: Int, kvHeads: Int, headDimension: Int) -> Int {
        2 * layers * kvHeads * headDimension * MemoryLayout<Float>.size
    }

    init(layers: Int, kvHeads: Int, headDimension: Int, blockTokens: Int, blockCount: Int) {
        precondition(layers > 0 && kvHeads > 0 && headDimension > 0 && blockTokens > 0 && blockCount > 0)
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDimension = headDimension
        self.blockTokens = blockTokens
        self.blockCount = blockCount
        storageBytes = 2 * blockCount * layers * kvHeads * blockTokens * headDimension * MemoryLayout<Float>.size
        // Anonymous pages read as zero and cost nothing until written.
        let mapped = mmap(nil, storageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            fatalError("cannot reserve \(storageBytes) bytes for the KV cache: \(String(cString: strerror(errno)))")
        }
        storage = mapped
    }

    deinit { munmap(storage, storageBytes) }

    /// Blocks needed to hold `tokens` positions.
    func blocksFor(tokens: Int) -> Int { (tokens + blockTokens - 1) / blockTokens }

    /// Keys of `block` for one layer and KV head: `blockTokens` × `headDimension` floats.
    func keys(block: Int32, layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        base(block: block) + (layer * kvHeads + head) * floatsPerHeadBlock
    }

    func values(block: Int32, layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        base(block: block) + floatsPerBlock + (layer * kvHeads + head) * floatsPerHeadBlock
    }

    /// Keys, then values, of one block: 2 × `floatsPerBlock` floats.
    private func base(block: Int32) -> UnsafeMutablePointer<Float> {
        precondition(block >= 0 && Int(block) < blockCount, "KV block \(block) outside the pool of \(blockCount)")
        return storage.assumingMemoryBound(to: Float.self) + Int(block) * 2 * floatsPerBlock
    }

    /// Stores `tokens` rows of token-major keys and values (tokens × kvHeads ×
    /// headDimension, as the K and V projections produce them) at positions
    /// `start ..< start + tokens` of the sequence whose blocks are `table`.
    func store(layer: Int, table: UnsafeBufferPointer<Int32>, start: Int, tokens: Int,
               keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>) {
        let d = headDimension
        for t in 0..<tokens {
            let position = start + t
            let block = table[position / blockTokens], slot = (position % blockTokens) * d
            for h in 0..<kvHeads {
                let source = (t * kvHeads + h) * d
                (keys(block: block, layer: layer, head: h) + slot).update(from: k + source, count: d)
                (values(block: block, layer: layer, head: h) + slot).update(from: v + source, count: d)
            }
        }
    }
}

/// Which blocks of a `PagedKVCache` are free. A value (the serving scheduler's pure core
/// owns one); it hands out the lowest free id first and counts what it lent, so a test can
/// show that no sequence ever leaks a block.
public struct KVBlockAllocator: Sendable {
    public let blockCount: Int
    /// Free block ids, highest first, so `popLast` hands out the lowest.
    private var free: [Int32]
    /// Whether each block is currently lent (catches double releases).
    private var lent: [Bool]

    public init(blockCount: Int) {
        self.blockCount = blockCount
        free = (0..<Int32(blockCount)).reversed()
        lent = Array(repeating: false, count: blockCount)
    }

    public var freeBlocks: Int { free.count }
    public var usedBlocks: Int { blockCount - free.count }

    /// Takes blocks until `blocks` holds `count` of them; false (and nothing taken) when too
    /// few are free.
    public mutating func grow(_ blocks: inout [Int32], to count: Int) -> Bool {
        let needed = count - blocks.count
        guard needed > 0 else { return true }
        guard needed <= free.count else { return false }
        for _ in 0..<needed {
            let block = free.removeLast()
            lent[Int(block)] = true
            blocks.append(block)
        }
        return true
    }

    /// Gives every block of `blocks` back and empties it.
    public mutating func release(_ blocks: inout [Int32]) {
        for block in blocks {
            precondition(lent[Int(block)], "KV block \(block) released twice")
            lent[Int(block)] = false
            free.append(block)
        }
        // Keep lowest-first order: a released block is reused before untouched ones.
        if !blocks.isEmpty { free.sort(by: >) }
        blocks.removeAll()
    }
}
