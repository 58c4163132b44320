import Foundation

/// After loading, the ternary projections live in their T5 copies; the file pages they were
/// repacked from are never read again but stay resident in the mapping (about 620 MB for a
/// 2B TQ2_0 model). Advising the kernel to page them out (MADV_PAGEOUT: clean file pages are
/// dropped, never lost — a later read would fault them back in) keeps a training run's
/// peak memory to the weights it uses.
enum RepackedWeightPages {
    /// Linux's MADV_PAGEOUT (5.4+); older kernels reject it and nothing happens.
    private static let pageOut: Int32 = 21

    static func release(_ model: TransformerModel) {
        #if os(Linux)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for block in model.blocks {
            for target in LoRATarget.allCases {
                let linear = block.projection(target)
                guard case .ternary = linear.weights, let info = model.file.tensor(named: linear.name) else { continue }
                let bytes = model.file.data(of: info)
                guard let base = bytes.baseAddress else { continue }
                let start = (Int(bitPattern: base) + page - 1) / page * page
                let end = (Int(bitPattern: base) + bytes.count) / page * page
                if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, pageOut) }
            }
        }
        #endif
    }
}
