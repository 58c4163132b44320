/// Backward pass of RMSNorm, y = x · r · w with r = 1/√(mean(x²) + ε), for each row:
/// dx = r·(w⊙g) − x · r³/d · Σ(w⊙g⊙x). Recomputes r from the saved input x.
public enum RMSNormGradient {
    /// `dx` gets the gradient (or has it added when `accumulate`); `weight` may be nil (no
    /// weight). `dx` must not alias `x`, but may alias `g` when not accumulating.
    public static func backward(x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>?, rowLength d: Int,
                         eps: Float, gradient g: UnsafeBufferPointer<Float>,
                         into dx: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
        let rows = x.count / d
        let xp = x.baseAddress!, gp = g.baseAddress!, dp = dx.baseAddress!
        for row in 0..<rows {
            let xr = xp + row * d, gr = gp + row * d, dr = dp + row * d
            var squares: Float = 0
            var weighted: Float = 0
            for i in 0..<d {
                let wg = gr[i] * (weight?[i] ?? 1)
                squares += xr[i] * xr[i]
                weighted += wg * xr[i]
            }
            let r = 1 / (squares / Float(d) + eps).squareRoot()
            let k = r * r * r * weighted / Float(d)
            for i in 0..<d {
                let value = r * gr[i] * (weight?[i] ?? 1) - k * xr[i]
                dr[i] = accumulate ? dr[i] + value : value
            }
        }
    }
}
