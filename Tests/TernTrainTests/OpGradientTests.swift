import Foundation
import Testing
import TernKernels
import TernTrain

/// Finite-difference checks of each op's hand-written backward pass, on random inputs:
/// the scalar checked is L = Σ w ⊙ op(x) with fixed random w, so ∂L/∂out = w.
@Suite("op backward passes vs finite differences")
struct OpGradientTests {
    private static func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var r = RandomSource(seed: seed)
        return (0..<count).map { _ in Float(r.nextUnit() * 2 - 1) * scale }
    }

    private static func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

    @Test("RMSNorm: dx from the saved input, with and without a weight")
    func rmsNorm() throws {
        let d = 12, rows = 3
        let weight = Self.random(d, seed: 1, scale: 0.5).map { $0 + 1 }
        let w = Self.random(rows * d, seed: 2)
        var x = Self.random(rows * d, seed: 3, scale: 2)
        for useWeight in [true, false] {
            func forward(_ x: [Float]) throws -> Double {
                var y = [Float](repeating: 0, count: x.count)
                try x.withUnsafeBufferPointer { xp in
                    try y.withUnsafeMutableBufferPointer { yp in
                        try weight.withUnsafeBufferPointer { wp in
                            try FloatKernels.rmsNorm(xp, weight: useWeight ? wp : nil, rowLength: d, eps: 1e-5, into: yp)
                        }
                    }
                }
                return Self.dot(y, w)
            }
            var dx = [Float](repeating: 7, count: x.count)
            x.withUnsafeBufferPointer { xp in
                w.withUnsafeBufferPointer { gp in
                    weight.withUnsafeBufferPointer { wp in
                        dx.withUnsafeMutableBufferPointer {
                            RMSNormGradient.backward(x: xp, weight: useWeight ? wp : nil, rowLength: d, eps: 1e-5,
                                                     gradient: gp, into: $0, accumulate: false)
                        }
                    }
                }
            }
            for i in 0..<x.count {
                let numeric = try FiniteDifference.derivative(at: i, of: &x, step: 1e-2, forward)
                #expect(FiniteDifference.close(numeric, Double(dx[i])), "x[\(i)] weight=\(useWeight): \(numeric) vs \(dx[i])")
            }
        }
    }

    @Test("RoPE: the inverse rotation is the gradient, in both pair layouts")
    func rope() throws {
        let heads = 2, headDim = 8, tokens = 3
        let positions: [Int32] = [0, 5, 17]
        let w = Self.random(tokens * heads * headDim, seed: 4)
        for layout in [RoPELayout.adjacentPairs, .neox] {
            var x = Self.random(tokens * heads * headDim, seed: 5)
            func forward(_ x: [Float]) throws -> Double {
                var y = x
                try positions.withUnsafeBufferPointer { p in
                    try y.withUnsafeMutableBufferPointer {
                        try FloatKernels.rope($0, heads: heads, headDim: headDim, rotatedDims: 6, positions: p,
                                              freqBase: 10_000, layout: layout)
                    }
                }
                return Self.dot(y, w)
            }
            var dx = w
            try positions.withUnsafeBufferPointer { p in
                try dx.withUnsafeMutableBufferPointer {
                    try FloatKernels.rope($0, heads: heads, headDim: headDim, rotatedDims: 6, positions: p,
                                          freqBase: 10_000, layout: layout, inverse: true)
                }
            }
            for i in 0..<x.count {
                let numeric = try FiniteDifference.derivative(at: i, of: &x, forward)
                #expect(FiniteDifference.close(numeric, Double(dx[i])), "\(layout) x[\(i)]: \(numeric) vs \(dx[i])")
            }
        }
    }

    /// Chunks of 2 tokens split the 5 positions into three tasks per KV head (the last one
    /// short), so the per-chunk partial dK/dV sums are exercised; 32 is one chunk.
    @Test("causal GQA attention: dq, dk, dv with 4 query heads on 2 KV heads", arguments: [2, 32])
    func attention(chunkTokens: Int) throws {
        let op = AttentionGradient(heads: 4, kvHeads: 2, headDimension: 4, chunkTokens: chunkTokens)
        let n = 5, qCount = n * 16, kvCount = n * 8
        let w = Self.random(qCount, seed: 6)
        let inputs = [Self.random(qCount, seed: 7), Self.random(kvCount, seed: 8), Self.random(kvCount, seed: 9)]
        func forward(_ q: [Float], _ k: [Float], _ v: [Float]) throws -> Double {
            var out = [Float](repeating: 0, count: qCount)
            try q.withUnsafeBufferPointer { qp in
                try k.withUnsafeBufferPointer { kp in
                    try v.withUnsafeBufferPointer { vp in
                        try out.withUnsafeMutableBufferPointer { try op.forward(q: qp, k: kp, v: vp, tokens: n, into: $0) }
                    }
                }
            }
            return Self.dot(out, w)
        }
        var dqValues = [Float](repeating: 0, count: qCount)
        var dkValues = [Float](repeating: 0, count: kvCount), dvValues = [Float](repeating: 0, count: kvCount)
        try inputs[0].withUnsafeBufferPointer { qp in
            try inputs[1].withUnsafeBufferPointer { kp in
                try inputs[2].withUnsafeBufferPointer { vp in
                    try w.withUnsafeBufferPointer { gp in
                        try dqValues.withUnsafeMutableBufferPointer { dq in
                            try dkValues.withUnsafeMutableBufferPointer { dk in
                                try dvValues.withUnsafeMutableBufferPointer { dv in
                                    try op.backward(q: qp, k: kp, v: vp, tokens: n, outputGradient: gp,
                                                    queryGradient: dq, keyGradient: dk, valueGradient: dv)
                                }
                            }
                        }
                    }
                }
            }
        }
        let grads = [dqValues, dkValues, dvValues]
        for which in 0..<3 {
            var perturbed = inputs[which]
            let fixed = inputs
            for i in 0..<perturbed.count {
                let numeric = try FiniteDifference.derivative(at: i, of: &perturbed) { x in
                    var all = fixed
                    all[which] = x
                    return try forward(all[0], all[1], all[2])
                }
                #expect(FiniteDifference.close(numeric, Double(grads[which][i])), "input \(which)[\(i)]: \(numeric) vs \(grads[which][i])")
            }
        }
    }

    @Test("gated FFN: SwiGLU and ReLU² gradients of gate and up")
    func gated() throws {
        let count = 24
        let w = Self.random(count, seed: 10)
        for activation in [FFNActivation.silu, .relu2] {
            var gate = Self.random(count, seed: 11, scale: 3), up = Self.random(count, seed: 12, scale: 2)
            // Keep ReLU² away from its kink at 0, where a central difference straddles it.
            if activation == .relu2 { gate = gate.map { abs($0) < 0.05 ? 0.5 : $0 } }
            func forward(_ gate: [Float], _ up: [Float]) throws -> Double {
                var y = [Float](repeating: 0, count: count)
                try gate.withUnsafeBufferPointer { g in
                    try up.withUnsafeBufferPointer { u in
                        try y.withUnsafeMutableBufferPointer { try FloatKernels.gated(activation, gate: g, up: u, into: $0) }
                    }
                }
                return Self.dot(y, w)
            }
            var dGate = [Float](repeating: 0, count: count), dUp = dGate
            gate.withUnsafeBufferPointer { g in
                up.withUnsafeBufferPointer { u in
                    w.withUnsafeBufferPointer { gp in
                        dGate.withUnsafeMutableBufferPointer { dg in
                            dUp.withUnsafeMutableBufferPointer { du in
                                GatedGradient.backward(activation, gate: g, up: u, gradient: gp, gateGradient: dg, upGradient: du)
                            }
                        }
                    }
                }
            }
            let upCopy = up, gateCopy = gate
            for i in 0..<count {
                let dg = try FiniteDifference.derivative(at: i, of: &gate, step: 1e-3) { try forward($0, upCopy) }
                let du = try FiniteDifference.derivative(at: i, of: &up, step: 1e-3) { try forward(gateCopy, $0) }
                #expect(FiniteDifference.close(dg, Double(dGate[i])), "\(activation) gate[\(i)]: \(dg) vs \(dGate[i])")
                #expect(FiniteDifference.close(du, Double(dUp[i])), "\(activation) up[\(i)]: \(du) vs \(dUp[i])")
            }
        }
    }

    @Test("attention forward and backward are bit-identical on 1 and 2 threads, over several chunks")
    func attentionThreads() throws {
        let heads = 6, kvHeads = 2, d = 8, n = 37
        let q = Self.random(n * heads * d, seed: 21), k = Self.random(n * kvHeads * d, seed: 22)
        let v = Self.random(n * kvHeads * d, seed: 23), g = Self.random(n * heads * d, seed: 24)
        func run(_ pool: ThreadPool?) throws -> [[Float]] {
            let op = AttentionGradient(heads: heads, kvHeads: kvHeads, headDimension: d, chunkTokens: 8)
            var out = [Float](repeating: 0, count: q.count), dq = out
            var dk = [Float](repeating: .nan, count: k.count), dv = dk
            try q.withUnsafeBufferPointer { qp in
                try k.withUnsafeBufferPointer { kp in
                    try v.withUnsafeBufferPointer { vp in
                        try g.withUnsafeBufferPointer { gp in
                            try out.withUnsafeMutableBufferPointer { try op.forward(q: qp, k: kp, v: vp, tokens: n, into: $0, pool: pool) }
                            try dq.withUnsafeMutableBufferPointer { dqp in
                                try dk.withUnsafeMutableBufferPointer { dkp in
                                    try dv.withUnsafeMutableBufferPointer { dvp in
                                        try op.backward(q: qp, k: kp, v: vp, tokens: n, outputGradient: gp,
                                                        queryGradient: dqp, keyGradient: dkp, valueGradient: dvp, pool: pool)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return [out, dq, dk, dv]
        }
        let single = try run(nil), pooled = try run(ThreadPool(threads: 2))
        #expect(single.map { $0.map(\.bitPattern) } == pooled.map { $0.map(\.bitPattern) })
        #expect(single.allSatisfy { $0.allSatisfy(\.isFinite) })
        #expect(single.allSatisfy { $0.contains { $0 != 0 } })
    }
}
