/// Sizes the serving engine starts from.
public enum ServingDefaults {
    /// Positions per KV block: small enough that a sequence wastes under one block, large
    /// enough that attention's per-block GEMM calls amortize their set-up.
    public static let blockTokens = 16
    /// Rows per forward pass (decode rows plus prefill chunks): a long prompt is fed in
    /// chunks so that the streams already decoding wait at most one such pass.
    public static let maxBatchTokens = 64
    /// Sequences decoding at once.
    public static let maxSequences = 32
}

/// The pure core of continuous batching: which sequences run in the next forward pass and
/// with how many of their tokens, and which KV blocks each holds. Events in (`submit`,
/// `cancel`, `planned`/`append`/`finish` after each pass), a `ServingBatch` out; no model,
/// no clock, no threads, so every schedule can be tested in microseconds.
///
/// A sequence is the token list its cache must hold (prompt, then every sampled token) and
/// how many of them the cache holds (`fed`). Each pass feeds every sequence its next tokens:
/// one for a sequence that is decoding, a chunk of at most the pass's row budget for one
/// still prefilling; decoding sequences go first, so a long prompt never stalls them for
/// more than one pass. A new request is admitted when its whole prompt fits the free blocks
/// and the batch has room. When a running sequence needs a block and none is free, the most
/// recently admitted sequence is preempted: its blocks go back and it waits, at the front,
/// to be fed again from position 0 (recomputed, with the same tokens, so nothing it already
/// produced changes).
public struct ServingScheduler: Sendable {
    public struct Configuration: Sendable {
        public var blockTokens = ServingDefaults.blockTokens
        public var blockCount: Int
        /// Positions one sequence may reach (the context length).
        public var maxPositions: Int
        public var maxBatchTokens = ServingDefaults.maxBatchTokens
        public var maxSequences = ServingDefaults.maxSequences

        public init(blockCount: Int, maxPositions: Int) {
            self.blockCount = blockCount
            self.maxPositions = maxPositions
        }
    }

    public enum SubmitError: Error, Equatable, CustomStringConvertible {
        case emptyPrompt
        case promptTooLong(tokens: Int, limit: Int)
        case duplicateID(UInt64)

        public var description: String {
            switch self {
            case .emptyPrompt: "the prompt encodes to no tokens"
            case .promptTooLong(let tokens, let limit): "the prompt has \(tokens) tokens; this server holds at most \(limit) per sequence"
            case .duplicateID(let id): "request id \(id) is already queued or running"
            }
        }
    }

    struct Sequence: Sendable {
        let id: UInt64
        var tokens: [Int32]
        var fed = 0
        var blocks: [Int32] = []
        /// Order of (latest) admission: preemption takes the highest.
        var admitted = 0
    }

    public let configuration: Configuration
    private(set) var allocator: KVBlockAllocator
    private var waiting: [Sequence] = []
    private var running: [Sequence] = []
    private var admissions = 0

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        allocator = KVBlockAllocator(blockCount: configuration.blockCount)
    }

    public var waitingCount: Int { waiting.count }
    public var runningCount: Int { running.count }
    public var isIdle: Bool { waiting.isEmpty && running.isEmpty }
    public var usedBlocks: Int { allocator.usedBlocks }
    /// Blocks the sequences hold; equals `usedBlocks` unless a block leaked.
    public var blocksHeld: Int { running.reduce(0) { $0 + $1.blocks.count } + waiting.reduce(0) { $0 + $1.blocks.count } }
    /// Positions one sequence may fill: the context, or the whole pool if that is smaller.
    public var positionLimit: Int { min(configuration.maxPositions, configuration.blockCount * configuration.blockTokens) }
    /// The longest prompt a request may bring: one position stays free for the first token.
    public var promptLimit: Int { positionLimit - 1 }

    /// Queues a request.
    public mutating func submit(id: UInt64, prompt: [Int32]) throws(SubmitError) {
        guard !prompt.isEmpty else { throw .emptyPrompt }
        guard prompt.count <= promptLimit else { throw .promptTooLong(tokens: prompt.count, limit: promptLimit) }
        guard !contains(id) else { throw .duplicateID(id) }
        waiting.append(Sequence(id: id, tokens: prompt))
    }

    public func contains(_ id: UInt64) -> Bool {
        running.contains { $0.id == id } || waiting.contains { $0.id == id }
    }

    /// Tokens of `id` so far (prompt and generated), if it is known.
    public func tokens(of id: UInt64) -> [Int32]? {
        (running.first { $0.id == id } ?? waiting.first { $0.id == id })?.tokens
    }

    /// Appends the token sampled for `id` after a pass that gave it logits.
    public mutating func append(_ token: Int32, to id: UInt64) {
        guard let index = running.firstIndex(where: { $0.id == id }) else { return }
        running[index].tokens.append(token)
    }

    /// Whether the last token sampled for `id` can still be fed (as a lone session feeds
    /// tokens until its cache is full): when not, the sequence ends at its length limit.
    public func hasRoom(_ id: UInt64) -> Bool {
        guard let sequence = running.first(where: { $0.id == id }) else { return false }
        return sequence.tokens.count <= positionLimit
    }

    /// Ends a sequence (finished, failed or cancelled) and frees its blocks; unknown ids are ignored.
    public mutating func finish(_ id: UInt64) {
        if let index = running.firstIndex(where: { $0.id == id }) {
            allocator.release(&running[index].blocks)
            running.remove(at: index)
        } else if let index = waiting.firstIndex(where: { $0.id == id }) {
            allocator.release(&waiting[index].blocks)
            waiting.remove(at: index)
        }
    }

    /// The next forward pass, or nil when nothing has tokens to feed.
    public mutating func nextBatch() -> ServingBatch? {
        var budget = configuration.maxBatchTokens
        var entries: [ServingBatch.Entry] = []
        var scheduled = Set<UInt64>()
        // Decoding sequences first (one token each), oldest admission first; then prefill chunks.
        for decoding in [true, false] {
            var index = 0
            while index < running.count, budget > 0 {
                let remaining = running[index].tokens.count - running[index].fed
                guard remaining > 0, (remaining == 1) == decoding else { index += 1; continue }
                let count = min(remaining, budget)
                guard reserve(count, forRunning: index, sparing: scheduled) else {
                    // Preempted itself (it was the youngest): the list shifted; look at the same index.
                    continue
                }
                entries.append(entry(running[index], count: count))
                scheduled.insert(running[index].id)
                budget -= count
                index += 1
            }
        }
        // Admit waiting requests while the pass and the pool have room.
        while budget > 0, running.count < configuration.maxSequences, let next = waiting.first {
            // Room for every token it brings and the next one (a preempted sequence may bring a full context).
            guard blocksFor(min(next.tokens.count + 1, positionLimit)) <= allocator.freeBlocks else { break }
            var sequence = waiting.removeFirst()
            admissions += 1
            sequence.admitted = admissions
            let count = min(sequence.tokens.count, budget)
            _ = allocator.grow(&sequence.blocks, to: blocksFor(count))
            running.append(sequence)
            entries.append(entry(sequence, count: count))
            budget -= count
        }
        guard !entries.isEmpty else { return nil }
        for entry in entries {
            let index = running.firstIndex { $0.id == entry.id }!
            running[index].fed += entry.count
        }
        return ServingBatch(entries: entries)
    }

    private func blocksFor(_ positions: Int) -> Int {
        (positions + configuration.blockTokens - 1) / configuration.blockTokens
    }

    private func entry(_ sequence: Sequence, count: Int) -> ServingBatch.Entry {
        let end = sequence.fed + count
        return ServingBatch.Entry(id: sequence.id, tokens: Array(sequence.tokens[sequence.fed..<end]), start: sequence.fed,
                                  blocks: sequence.blocks, wantsLogits: end == sequence.tokens.count)
    }

    /// Gives running[index] the blocks for `count` more positions, preempting the youngest
    /// sequence not already in this pass (`scheduled`) as needed. False when running[index]
    /// was the youngest and was preempted itself.
    private mutating func reserve(_ count: Int, forRunning index: Int, sparing scheduled: Set<UInt64>) -> Bool {
        let id = running[index].id
        while let current = running.firstIndex(where: { $0.id == id }) {
            if allocator.grow(&running[current].blocks, to: blocksFor(running[current].fed + count)) { return true }
            // The sequence itself is never scheduled yet, so there is always a candidate.
            let youngest = running.indices.filter { !scheduled.contains(running[$0].id) }
                .max { running[$0].admitted < running[$1].admitted }!
            preempt(at: youngest)
        }
        return false
    }

    /// Frees a running sequence's blocks and puts it first in the queue, to be fed again from 0.
    private mutating func preempt(at index: Int) {
        var sequence = running.remove(at: index)
        allocator.release(&sequence.blocks)
        sequence.fed = 0
        waiting.insert(sequence, at: 0)
    }
}

/// One forward pass the scheduler planned: for each sequence, the tokens to feed at
/// positions start..<start+tokens.count, its blocks, and whether the last of them needs logits.
public struct ServingBatch: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let id: UInt64
        public let tokens: [Int32]
        public let start: Int
        public let blocks: [Int32]
        public let wantsLogits: Bool
        public var count: Int { tokens.count }
    }

    public let entries: [Entry]
    public var rows: Int { entries.reduce(0) { $0 + $1.count } }
}
