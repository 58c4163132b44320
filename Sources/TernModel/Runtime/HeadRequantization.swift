import CTernary
import TernKernels

extension LinearWeights {
    /// Float weights re-encoded as Q8_0 blocks (8.5 bits per weight instead of 16 or 32),
    /// or nil when they are not float or their rows do not fill whole 32-weight blocks.
    /// The decode step reads the whole output head for every token, so an F16 head of a
    /// 2B model (252 MB) costs more memory traffic than all its ternary layers; as Q8_0 it
    /// reads 134 MB, multiplied by the int8 block kernels llama.cpp's Q8_0 path uses. Rows
    /// are spread over `pool`; each row's blocks depend on that row alone.
    func requantizedToQ8_0(pool: ThreadPool?) throws -> BlockQuantMatrix? {
        guard case .float(let m) = self, m.cols % BlockQuantFormat.q8_0.blockElements == 0 else { return nil }
        let rowBytes = try BlockQuantFormat.q8_0.byteCount(elements: m.cols)
        let storage = TensorStorage(byteCount: m.rows * rowBytes)
        let rowsPerTask = 256
        try ThreadPool.forEach((m.rows + rowsPerTask - 1) / rowsPerTask, on: pool) { task in
            let row = UnsafeMutableBufferPointer<Float>.allocate(capacity: m.cols)
            defer { row.deallocate() }
            for r in (task * rowsPerTask)..<min(m.rows, (task + 1) * rowsPerTask) {
                try m.copyRow(r, into: row)
                tern_quantize_q8_0(row.baseAddress, storage.pointer + r * rowBytes, m.cols)
            }
        }
        return try BlockQuantMatrix(format: .q8_0, rows: m.rows, cols: m.cols,
                                    bytes: UnsafeRawBufferPointer(storage.bytes), owner: storage)
    }
}
