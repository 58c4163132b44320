/// The dispatcher's outer step in DiLoCo over LoRA: the round's pseudo-gradient (the mean
/// change the workers made to the trainable parameters, weighted by the tokens each trained
/// on) drives Nesterov momentum on the global parameters.
///
/// With `Δ̄` the weighted mean change, the outer gradient is `g = −Δ̄`; the momentum buffer
/// `m ← μ·m + g`; the step `θ ← θ − η·(g + μ·m)` (Nesterov). DiLoCo's defaults are η = 0.7,
/// μ = 0.9; η = 1, μ = 0 is plain averaging (`θ ← θ + Δ̄`). Pure value type: the dispatcher
/// keeps it (its momentum) in the ledger between rounds.
public struct OuterOptimizer: Sendable, Equatable, Codable {
    public var learningRate: Float
    public var momentum: Float
    /// One entry per trainable parameter, zero until the first step.
    public private(set) var velocity: [Float]

    public init(learningRate: Float = 0.7, momentum: Float = 0.9, parameterCount: Int) {
        self.learningRate = learningRate
        self.momentum = momentum
        velocity = [Float](repeating: 0, count: parameterCount)
    }

    /// Plain averaging: the global parameters become the mean of the workers'.
    public static func averaging(parameterCount: Int) -> OuterOptimizer {
        OuterOptimizer(learningRate: 1, momentum: 0, parameterCount: parameterCount)
    }

    /// Applies one outer step to `parameters` given the round's mean change. Only the
    /// indices in `trained` move (the frozen factor's entries stay exactly as they are, and so
    /// does their momentum); nil means every parameter.
    public mutating func step(_ parameters: inout [Float], meanChange: [Float], trained: [Range<Int>]? = nil) {
        precondition(parameters.count == velocity.count && meanChange.count == velocity.count,
                     "outer step on \(parameters.count) parameters with \(meanChange.count) changes and \(velocity.count) momenta")
        for range in trained ?? [0..<parameters.count] {
            for i in range {
                let gradient = -meanChange[i]
                velocity[i] = momentum * velocity[i] + gradient
                parameters[i] -= learningRate * (gradient + momentum * velocity[i])
            }
        }
    }
}

/// The token-weighted mean of the workers' parameter changes: a worker that trained on
/// twice the tokens counts twice. Deterministic: workers are summed in the order given (the
/// dispatcher sorts them by shard), in double precision.
public enum PseudoGradient {
    public struct Contribution: Sendable {
        public var change: [Float]
        public var tokens: Int

        public init(change: [Float], tokens: Int) {
            self.change = change
            self.tokens = tokens
        }
    }

    /// `Σ tokensₖ·Δₖ / Σ tokensₖ`; nil when there is no contribution with tokens, or the
    /// changes disagree in length.
    public static func weightedMean(_ contributions: [Contribution]) -> [Float]? {
        guard let count = contributions.first?.change.count,
              contributions.allSatisfy({ $0.change.count == count && $0.tokens >= 0 }) else { return nil }
        let total = contributions.reduce(0) { $0 + $1.tokens }
        guard total > 0 else { return nil }
        var sum = [Double](repeating: 0, count: count)
        for contribution in contributions where contribution.tokens > 0 {
            let weight = Double(contribution.tokens)
            for i in 0..<count { sum[i] += weight * Double(contribution.change[i]) }
        }
        return sum.map { Float($0 / Double(total)) }
    }

    /// A worker's change: its parameters after the round minus the round's starting ones.
    public static func change(from start: [Float], to end: [Float]) -> [Float]? {
        guard start.count == end.count else { return nil }
        return zip(end, start).map { $0 - $1 }
    }
}
