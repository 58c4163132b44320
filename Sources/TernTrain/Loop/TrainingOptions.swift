/// Everything that shapes a LoRA training run (the CLI flags of `tern finetune`).
public struct TrainingOptions: Sendable, Equatable, Codable {
    public var rank = 8
    public var alpha: Float = 16
    public var targets: [LoRATarget] = LoRATarget.attention
    public var learningRate: Float = 1e-4
    public var schedule: LearningRateShape = .constant
    public var warmupSteps = 0
    /// Optimizer steps; nil = `epochs` passes over the training sequences.
    public var steps: Int?
    public var epochs = 1
    /// Sequences per micro-batch and micro-batches per optimizer step: a step averages the
    /// loss over every scored token of batchSize × gradientAccumulation sequences.
    public var batchSize = 1
    public var gradientAccumulation = 1
    /// Global gradient-norm clip (0 = none).
    public var maxGradientNorm: Float = 1
    public var adam = AdamW.Settings()
    public var seed: UInt64 = 42

    public init() {}

    public var sequencesPerStep: Int { batchSize * gradientAccumulation }

    /// Throws naming the first option out of range.
    public func validate() throws {
        guard rank > 0 else { throw TrainingError.invalidOption("rank \(rank) must be positive") }
        guard alpha > 0, alpha.isFinite else { throw TrainingError.invalidOption("alpha \(alpha) must be positive") }
        guard !targets.isEmpty else { throw TrainingError.invalidOption("no LoRA modules given") }
        guard epochs > 0 else { throw TrainingError.invalidOption("epochs \(epochs) must be positive") }
        if let steps, steps <= 0 { throw TrainingError.invalidOption("steps \(steps) must be positive") }
        guard batchSize > 0 else { throw TrainingError.invalidOption("batch \(batchSize) must be positive") }
        guard gradientAccumulation > 0 else { throw TrainingError.invalidOption("grad-accum \(gradientAccumulation) must be positive") }
        guard maxGradientNorm >= 0 else { throw TrainingError.invalidOption("gradient clip \(maxGradientNorm) must not be negative") }
        guard adam.weightDecay >= 0 else { throw TrainingError.invalidOption("weight decay \(adam.weightDecay) must not be negative") }
    }

    /// Optimizer steps for `sequences` training sequences.
    public func totalSteps(sequences: Int) -> Int {
        steps ?? max(1, epochs * ((sequences + sequencesPerStep - 1) / sequencesPerStep))
    }
}
