import Foundation

/// AdamW (Loshchilov & Hutter): Adam moments with bias correction, and weight decay applied
/// to the parameters directly (decoupled), not through the gradient:
/// θ ← θ − lr·(m̂/(√v̂ + ε) + λ·θ).
public final class AdamW {
    public struct Settings: Sendable, Equatable, Codable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        public var weightDecay: Float = 0

        public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }
    }

    public let settings: Settings
    /// Updates taken so far (the t of the bias correction).
    public private(set) var step: Int
    /// First and second moment estimates, one per parameter.
    public private(set) var firstMoment: [Float]
    public private(set) var secondMoment: [Float]

    public init(parameterCount: Int, settings: Settings = Settings()) {
        self.settings = settings
        step = 0
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
    }

    /// Restores the state saved in a checkpoint.
    public init(settings: Settings, step: Int, firstMoment: [Float], secondMoment: [Float]) throws {
        guard firstMoment.count == secondMoment.count, step >= 0 else {
            throw TrainingError.checkpoint("optimizer moments have \(firstMoment.count) and \(secondMoment.count) values at step \(step)")
        }
        self.settings = settings
        self.step = step
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
    }

    /// One update of `parameters.values` from `parameters.gradients`, of the values in
    /// `ranges` only when given (the rest, and their moments, are left exactly as they are:
    /// weight decay must not shrink a frozen factor either).
    public func update(_ parameters: LoRAParameters, learningRate: Float, ranges: [Range<Int>]? = nil) {
        precondition(parameters.count == firstMoment.count, "optimizer built for another parameter count")
        step += 1
        let b1 = settings.beta1, b2 = settings.beta2
        let correction1 = 1 - Float(pow(Double(b1), Double(step)))
        let correction2 = 1 - Float(pow(Double(b2), Double(step)))
        let decay = learningRate * settings.weightDecay
        let values = parameters.values, gradients = parameters.gradients
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                for range in ranges ?? [0..<values.count] {
                    for i in range {
                        let g = gradients[i]
                        m[i] = b1 * m[i] + (1 - b1) * g
                        v[i] = b2 * v[i] + (1 - b2) * g * g
                        let mHat = m[i] / correction1
                        let vHat = v[i] / correction2
                        values[i] -= learningRate * mHat / (vHat.squareRoot() + settings.epsilon) + decay * values[i]
                    }
                }
            }
        }
    }
}
