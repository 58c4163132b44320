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
    /// LoRA dropout probability on each pair's input while training (0: none); see `LoRADropout`.
    public var dropout: Float = 0
    /// Only this factor of every pair trains and the other stays exactly as it started
    /// (nil: both train). See `LoRAFactor`.
    public var trainedFactor: LoRAFactor?

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
        guard dropout >= 0, dropout < 1 else { throw TrainingError.invalidOption("dropout \(dropout) must be in [0, 1)") }
    }

    /// The run's dropout, nil when it has none.
    public var loraDropout: LoRADropout? {
        get throws { dropout > 0 ? try LoRADropout(probability: dropout, seed: seed) : nil }
    }

    /// A resumed run keeps the options it was saved with; a dropout asked for on the command
    /// line that differs from the saved one is refused rather than silently ignored (the
    /// masks of the steps already taken came from the saved value).
    public func checkResume(requestedDropout requested: Float?) throws {
        guard let requested, requested != dropout else { return }
        throw TrainingError.invalidOption("dropout \(requested) differs from the checkpoint's \(dropout): "
            + "a resumed run keeps the dropout it started with")
    }

    /// Optimizer steps for `sequences` training sequences.
    public func totalSteps(sequences: Int) -> Int {
        steps ?? max(1, epochs * ((sequences + sequencesPerStep - 1) / sequencesPerStep))
    }
}

extension TrainingOptions {
    /// Decodes `state.json`; a checkpoint written before `dropout` existed resumes with 0,
    /// one written before `trainedFactor` with both factors training.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rank = try c.decode(Int.self, forKey: .rank)
        alpha = try c.decode(Float.self, forKey: .alpha)
        targets = try c.decode([LoRATarget].self, forKey: .targets)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        schedule = try c.decode(LearningRateShape.self, forKey: .schedule)
        warmupSteps = try c.decode(Int.self, forKey: .warmupSteps)
        steps = try c.decodeIfPresent(Int.self, forKey: .steps)
        epochs = try c.decode(Int.self, forKey: .epochs)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        gradientAccumulation = try c.decode(Int.self, forKey: .gradientAccumulation)
        maxGradientNorm = try c.decode(Float.self, forKey: .maxGradientNorm)
        adam = try c.decode(AdamW.Settings.self, forKey: .adam)
        seed = try c.decode(UInt64.self, forKey: .seed)
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0
        trainedFactor = try c.decodeIfPresent(LoRAFactor.self, forKey: .trainedFactor)
    }
}
