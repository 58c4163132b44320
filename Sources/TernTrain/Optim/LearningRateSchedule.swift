import Foundation

/// How the learning rate moves after warmup.
public enum LearningRateShape: String, CaseIterable, Sendable, Codable {
    case constant
    case cosine
    case linear
}

/// The learning rate of every optimizer step: a linear warmup from lr/warmup to lr over
/// `warmupSteps`, then constant, a cosine to zero, or a straight line to zero at `totalSteps`.
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    public var peak: Float
    public var shape: LearningRateShape
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Float, shape: LearningRateShape = .constant, warmupSteps: Int = 0, totalSteps: Int) throws {
        guard peak > 0, peak.isFinite else { throw TrainingError.invalidOption("learning rate \(peak) must be positive") }
        guard warmupSteps >= 0 else { throw TrainingError.invalidOption("warmup \(warmupSteps) must not be negative") }
        guard totalSteps > 0 else { throw TrainingError.invalidOption("total steps \(totalSteps) must be positive") }
        self.peak = peak
        self.shape = shape
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The rate of step `step` (0-based).
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(span))
        switch shape {
        case .constant: return peak
        case .cosine: return peak * Float(0.5 * (1 + cos(Double.pi * progress)))
        case .linear: return peak * Float(1 - progress)
        }
    }
}
