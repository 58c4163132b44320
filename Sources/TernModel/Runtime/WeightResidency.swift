import CTernary
import TernKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LinearWeights {
    /// Float weights re-encoded as Q8_0 blocks (8.5 bits per weight instead of 16 or 32),
    /// or nil when they are not float or their rows do not fill whole 32-weight blocks.
    /// The decode step reads the whole output head for every token, so an F16 head of a
    /// 2B model (252 MB) costs more memory traffic than all its ternary layers; as Q8_0 it
    /// reads 134 MB, multiplied by the int8 block kernels llama.cpp's Q8_0 path uses.
    func requantizedToQ8_0() throws -> BlockQuantMatrix? {
        guard case .float(let m) = self, m.cols % BlockQuantFormat.q8_0.blockElements == 0 else { return nil }
        let rowBytes = try BlockQuantFormat.q8_0.byteCount(elements: m.cols)
        let storage = TensorStorage(byteCount: m.rows * rowBytes)
        for r in 0..<m.rows {
            let row = try m.row(r)
            row.withUnsafeBufferPointer { tern_quantize_q8_0($0.baseAddress, storage.pointer + r * rowBytes, m.cols) }
        }
        return try BlockQuantMatrix(format: .q8_0, rows: m.rows, cols: m.cols,
                                    bytes: UnsafeRawBufferPointer(storage.bytes), owner: storage)
    }
}

/// Asks the kernel to drop the resident pages of `bytes`, a tensor of the mapped model file
/// that has been copied into another form (ternary repacked, head requantized): without
/// this, loading keeps both copies resident. The mapping stays valid; a later read (an
/// embedding row) faults its page back in. Memory that is not a file mapping (a model read
/// from a byte array) keeps its contents: MADV_PAGEOUT never discards data.
func releaseResidentPages(of bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = (Int(bitPattern: base) + page - 1) / page * page
    let end = (Int(bitPattern: base) + bytes.count) / page * page
    guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
    // Advice only: an old kernel without MADV_PAGEOUT answers EINVAL and nothing changes.
    _ = madvise(pointer, end - start, MADV_PAGEOUT)
}
