import TernKernels

/// Where a model's weights come from while it loads: ternary tensors (and the Q8_0 head)
/// from the validated layout cache when it holds them, else repacked from the file with
/// their rows spread over the pool; everything else viewed in the mapped file. `finish`
/// writes a new cache file when anything had to be repacked.
final class WeightSource {
    let file: GGUFFile
    private let pool: ThreadPool?
    private let cache: LayoutCache?
    private let quantizedHead: Bool
    /// The model's hash and its validated cache file (nil: none usable), looked up when the
    /// first tensor in engine layout is asked for: a model without one (SmolLM2's Q4_1) is
    /// never hashed and leaves no file.
    private var lookup: (modelHash: UInt64, cached: LayoutCacheFile?)?
    /// Why the cache could not supply everything; nil while it has.
    private var miss: LayoutCacheMiss?
    /// Every matrix in engine layout built so far (from the cache or repacked), in order:
    /// what a rebuilt cache file holds.
    private var built: [(item: LayoutCacheWriter.Item, owner: AnyObject?)] = []
    private var ternary: [String: TernaryMatrix] = [:]

    init(file: GGUFFile, pool: ThreadPool?, cache: LayoutCache?, quantizedHead: Bool) {
        self.file = file
        self.pool = pool
        self.cache = cache
        self.quantizedHead = quantizedHead
    }

    /// The cache file for this model, validated, or nil (with `miss` saying why).
    private func cachedLayout() throws -> LayoutCacheFile? {
        guard let cache else { return nil }
        if let lookup { return lookup.cached }
        let modelHash = try file.contentHash(pool: pool)
        var cached: LayoutCacheFile?
        do {
            if cache.refresh { throw LayoutCacheMiss.refreshRequested }
            cached = try LayoutCacheFile(path: cache.path(modelHash: modelHash, quantizedHead: quantizedHead),
                                         modelSize: file.fileSize, modelHash: modelHash, pool: pool)
        } catch {
            miss = error as? LayoutCacheMiss ?? .invalid("\(error)")
        }
        lookup = (modelHash, cached)
        return cached
    }

    /// `tensor` as an outputs×inputs matrix.
    func weights(_ tensor: GGUFTensorInfo) throws -> LinearWeights {
        guard let encoding = LinearWeights.ternaryEncoding(tensor.type) else { return try LinearWeights(tensor: tensor, file: file) }
        if let m = ternary[tensor.name] { return .ternary(m) }
        let rows = tensor.rowCount, cols = tensor.rowLength
        let matrix: TernaryMatrix
        if let m = try cachedLayout()?.ternary(named: tensor.name, rows: rows, cols: cols) {
            matrix = m
        } else {
            if cache != nil, miss == nil { miss = .missingEntry(tensor.name) }
            let bytes = file.data(of: tensor)
            matrix = try TernaryMatrix(encoding: encoding, bytes: bytes, rows: rows, cols: cols, pool: pool)
            file.releaseResidentPages(of: bytes)
        }
        ternary[tensor.name] = matrix
        built.append((LayoutCacheWriter.Item(kind: .t5, name: tensor.name, rows: rows, cols: cols, bytes: matrix.bytes), matrix))
        return .ternary(matrix)
    }

    /// The float output head `head` re-encoded as Q8_0 (see `requantizedToQ8_0`), or nil
    /// when it is not float.
    func quantizedHead(of head: Linear) throws -> BlockQuantMatrix? {
        guard case .float(let m) = head.weights else { return nil }
        let q8: BlockQuantMatrix
        if let cachedHead = try cachedLayout()?.q8_0(named: head.name, rows: m.rows, cols: m.cols) {
            q8 = cachedHead
        } else {
            guard let made = try head.weights.requantizedToQ8_0(pool: pool) else { return nil }
            if cache != nil, miss == nil { miss = .missingEntry("\(head.name) as Q8_0") }
            q8 = made
            file.releaseResidentPages(of: m.bytes)
        }
        built.append((LayoutCacheWriter.Item(kind: .q8_0, name: head.name, rows: m.rows, cols: m.cols, bytes: q8.bytes), q8.owner))
        return q8
    }

    /// Writes the cache file when the load had to repack, and says what happened. A store
    /// that fails (a read-only or full disk) is reported, not thrown: the model is loaded.
    func finish() -> LayoutCacheOutcome {
        guard let cache else { return .disabled }
        guard let modelHash = lookup?.modelHash else { return .unused }
        let path = cache.path(modelHash: modelHash, quantizedHead: quantizedHead)
        guard let miss else {
            cache.touch(path)
            return .hit(path: path)
        }
        do {
            try cache.createDirectory()
            try withExtendedLifetime(built.map(\.owner)) {
                try LayoutCacheWriter.write(built.map(\.item), modelSize: file.fileSize, modelHash: modelHash, to: path, pool: pool)
            }
            cache.trim(keeping: path)
            return .rebuilt(path: path, miss: miss, storeError: nil)
        } catch {
            return .rebuilt(path: path, miss: miss, storeError: "\(error)")
        }
    }
}
