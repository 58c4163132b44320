import Foundation
import TernKernels

/// Backward pass of the gated feed-forward product h = act(gate) ⊙ up:
/// d_up = g ⊙ act(gate), d_gate = g ⊙ up ⊙ act′(gate).
public enum GatedGradient {
    /// Writes the two input gradients; they may alias `gate` and `up` respectively (each
    /// element is read before it is written).
    public static func backward(_ activation: FFNActivation, gate: UnsafeBufferPointer<Float>, up: UnsafeBufferPointer<Float>,
                         gradient g: UnsafeBufferPointer<Float>,
                         gateGradient dGate: UnsafeMutableBufferPointer<Float>,
                         upGradient dUp: UnsafeMutableBufferPointer<Float>) {
        let gp = gate.baseAddress!, up = up.baseAddress!, grad = g.baseAddress!
        let dg = dGate.baseAddress!, du = dUp.baseAddress!
        switch activation {
        case .silu:
            for i in 0..<gate.count {
                let x = gp[i], u = up[i], gi = grad[i]
                let sigmoid = 1 / (1 + exp(-x))
                du[i] = gi * x * sigmoid
                dg[i] = gi * u * sigmoid * (1 + x * (1 - sigmoid))
            }
        case .relu2:
            for i in 0..<gate.count {
                let x = max(gp[i], 0), u = up[i], gi = grad[i]
                du[i] = gi * x * x
                dg[i] = gi * u * 2 * x
            }
        }
    }
}
