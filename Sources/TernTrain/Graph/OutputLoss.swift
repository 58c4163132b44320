import Foundation
import TernKernels

/// The output head and the cross-entropy of the scored positions, forward and backward in
/// chunks of `chunkRows` positions, so logits over the vocabulary exist for one chunk at a
/// time (49152 × 64 floats, 12 MiB, for SmolLM2's vocabulary instead of × every position).
/// Positions that are not scored get no logits at all. 64 rather than 32 rows: the head's
/// float GEMMs run at a better rate on more rows and the transposed one converts the F16
/// head half as often (bitnet-2b-4t at ctx 256: 46.6 → 56.6 tokens/s, +8 MiB).
struct OutputLoss {
    let head: Linear
    let precision: MatmulPrecision
    var chunkRows = 64

    /// Σ −log softmax(logits)[target] over `scored` positions. With `gradient`, writes
    /// ∂(weight · Σ)/∂normed into it (zero on unscored rows).
    /// - Parameters:
    ///   - normed: n × e, the output-normed hidden states.
    ///   - targets: the token each position should predict (n of them).
    func run(normed: UnsafeBufferPointer<Float>, width e: Int, targets: [Int32], scored: [Int], weight: Float,
             gradient: UnsafeMutableBufferPointer<Float>?, activations: (Int) -> QuantizedActivations,
             scratch: ScratchArena, pool: ThreadPool?) throws -> Double {
        gradient?.update(repeating: 0)
        let vocabulary = head.outputCount
        var total = 0.0
        for start in stride(from: 0, to: scored.count, by: chunkRows) {
            let rows = Array(scored[start..<min(start + chunkRows, scored.count)])
            let c = rows.count
            let gathered = scratch.buffer("loss.rows", count: c * e)
            for (i, t) in rows.enumerated() {
                _ = UnsafeMutableBufferPointer(rebasing: gathered[(i * e)..<((i + 1) * e)])
                    .update(fromContentsOf: UnsafeBufferPointer(rebasing: normed[(t * e)..<((t + 1) * e)]))
            }
            let logits = scratch.buffer("loss.logits", count: c * vocabulary)
            let input = try LinearInput(UnsafeBufferPointer(gathered), tokens: c, quantizingInto: head.readsQuantizedInput(precision) ? activations(c) : nil)
            try head.forward(input, precision: precision, into: logits, pool: pool)
            for (i, t) in rows.enumerated() {
                let row = logits.baseAddress! + i * vocabulary
                let target = Int(targets[t])
                var peak = -Float.infinity
                for j in 0..<vocabulary { peak = max(peak, row[j]) }
                let targetLogit = row[target]
                var sum: Float = 0
                for j in 0..<vocabulary {
                    let e = exp(row[j] - peak)
                    row[j] = e
                    sum += e
                }
                total += Double(log(sum) + peak - targetLogit)
                if gradient != nil {
                    let k = weight / sum
                    for j in 0..<vocabulary { row[j] *= k }
                    row[target] -= weight
                }
            }
            guard let gradient else { continue }
            let dRows = scratch.buffer("loss.dRows", count: c * e)
            try head.inputGradient(UnsafeBufferPointer(logits), tokens: c, into: dRows, pool: pool)
            for (i, t) in rows.enumerated() {
                _ = UnsafeMutableBufferPointer(rebasing: gradient[(t * e)..<((t + 1) * e)])
                    .update(fromContentsOf: UnsafeBufferPointer(rebasing: dRows[(i * e)..<((i + 1) * e)]))
            }
        }
        return total
    }
}
