/// The symbol list and candidate-pair queue shared by BPE and SentencePiece: symbols are
/// merged pairwise, best candidate first (ties: leftmost), as in llama.cpp's tokenizers.
/// A binary heap keeps long inputs (e.g. a run of 10k spaces) at O(n log n).
struct MergeQueue {
    struct Candidate {
        /// Lower is better.
        var cost: Double
        var left: Int
        var right: Int
        /// Lengths of both symbols when queued: a changed length means the entry is stale.
        var leftLength: Int
        var rightLength: Int
        /// What the merge produces (BPE: the merged token id).
        var result: Int32
    }

    /// Symbol i covers units `start[i] ..< start[i] + length[i]`; merged-away symbols have length 0.
    private(set) var start: [Int]
    private(set) var length: [Int]
    private(set) var next: [Int]
    private var previous: [Int]
    private var heap: [Candidate] = []

    /// Symbols initially of the given lengths, laid end to end.
    init(lengths: [Int]) {
        var s: [Int] = []
        s.reserveCapacity(lengths.count)
        var offset = 0
        for l in lengths {
            s.append(offset)
            offset += l
        }
        start = s
        length = lengths
        next = (0..<lengths.count).map { $0 + 1 < lengths.count ? $0 + 1 : -1 }
        previous = (0..<lengths.count).map { $0 - 1 }
    }

    /// Queues the pair (left, left's successor) with `cost`.
    mutating func push(left: Int, cost: Double, result: Int32 = 0) {
        let right = next[left]
        guard right >= 0 else { return }
        heap.append(Candidate(cost: cost, left: left, right: right, leftLength: length[left], rightLength: length[right], result: result))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.better(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// Removes and returns the best still-valid candidate.
    mutating func popValid() -> Candidate? {
        while let top = popBest() {
            if length[top.left] == top.leftLength, length[top.right] == top.rightLength, next[top.left] == top.right,
               top.leftLength > 0, top.rightLength > 0 {
                return top
            }
        }
        return nil
    }

    /// Merges `right` into `left`; returns the symbol before the merged one (or -1), whose
    /// pair with it is new and must be considered.
    mutating func merge(_ c: Candidate) -> Int {
        length[c.left] += length[c.right]
        length[c.right] = 0
        let after = next[c.right]
        next[c.left] = after
        if after >= 0 { previous[after] = c.left }
        return previous[c.left]
    }

    /// Indices of the surviving symbols, left to right.
    var survivors: [Int] {
        var out: [Int] = []
        var i = length.isEmpty ? -1 : 0
        while i >= 0 {
            out.append(i)
            i = next[i]
        }
        return out
    }

    private static func better(_ a: Candidate, _ b: Candidate) -> Bool {
        a.cost < b.cost || (a.cost == b.cost && a.left < b.left)
    }

    private mutating func popBest() -> Candidate? {
        guard !heap.isEmpty else { return nil }
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < heap.count, Self.better(heap[l], heap[best]) { best = l }
                if r < heap.count, Self.better(heap[r], heap[best]) { best = r }
                if best == i { break }
                heap.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
