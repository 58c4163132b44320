/// Global-norm clipping: if ‖g‖ exceeds `maxNorm`, every gradient is scaled by maxNorm/‖g‖.
public enum GradientClipping {
    /// Clips in place and returns the norm before clipping.
    @discardableResult
    public static func clip(_ parameters: LoRAParameters, maxNorm: Float) -> Double {
        let norm = parameters.gradientNorm
        guard maxNorm > 0, norm > Double(maxNorm) else { return norm }
        let factor = Float(Double(maxNorm) / norm)
        for i in 0..<parameters.gradients.count { parameters.gradients[i] *= factor }
        return norm
    }
}
