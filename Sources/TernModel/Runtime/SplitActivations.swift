/// The int16 split of inputs to block-quantized weights (ternary inputs are split in C by
/// `QuantizedActivations.quantizeSplit`): x = hi + lo, where `hi` is exactly a value the
/// int8 kernels' own rounding represents (an integer in −127…127 times the per-block scale
/// amax/127) and `lo` is the rounding residual, at most half a step.
/// Requantizing `hi` reproduces its integers exactly, so W·hi carries no rounding error;
/// `lo` is rounded to int8 in its turn, with a scale at least 254× finer. Together the two
/// int8 passes carry about 15 bits per activation through the same VNNI kernels.
enum SplitActivations {
    /// Writes the `tokens` rows of `x` (each `cols` wide) as 2·tokens rows into `stacked`:
    /// first every token's `hi`, then every token's `lo`. `blockSize` is the span the
    /// kernel scales together (`BlockQuantKernels.activationBlock`).
    static func split(_ x: UnsafeBufferPointer<Float>, tokens: Int, cols: Int, blockSize: Int,
                      into stacked: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == tokens * cols && stacked.count == 2 * tokens * cols && blockSize > 0)
        let loOffset = tokens * cols
        for start in stride(from: 0, to: tokens * cols, by: cols) {
            for blockStart in stride(from: start, to: start + cols, by: blockSize) {
                let block = blockStart..<min(start + cols, blockStart + blockSize)
                var amax: Float = 0
                for i in block { amax = max(amax, abs(x[i])) }
                let scale = amax > 0 ? 127 / amax : 0, step = amax / 127
                for i in block {
                    let hi = x[i].isFinite ? (x[i] * scale).rounded(.toNearestOrEven) * step : 0
                    stacked[i] = hi
                    stacked[loOffset + i] = x[i] - hi
                }
            }
        }
    }
}
