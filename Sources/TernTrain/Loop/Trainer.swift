import Foundation
import TernKernels

/// What one optimizer step did.
public struct StepReport: Sendable, Equatable {
    /// 1-based number of the step just taken.
    public let step: Int
    public let loss: LossSum
    public let learningRate: Float
    /// Global gradient norm before clipping.
    public let gradientNorm: Double
    /// Tokens the model read (inputs of every sequence of the step).
    public let tokens: Int
    public let seconds: Double
}

/// The training loop's state machine: picks each step's sequences (shuffled per epoch by a
/// seeded generator), runs them through the graph, clips, and updates with AdamW on the
/// learning-rate schedule. Everything that decides the next step lives in a
/// `TrainingCheckpoint`, so a run can stop anywhere between steps and resume bit-identically.
public final class Trainer {
    public let graph: TrainingGraph
    public let options: TrainingOptions
    public let train: [TrainingSequence]
    public let validation: [TrainingSequence]
    public let schedule: LearningRateSchedule
    public let optimizer: AdamW
    /// Optimizer steps taken.
    public private(set) var step = 0
    public private(set) var epoch = 0
    private var cursor = 0
    private var order: [Int]
    private var random: RandomSource

    public var totalSteps: Int { schedule.totalSteps }
    public var isFinished: Bool { step >= totalSteps }

    /// A fresh run. `random` continues the generator that initialised the adapter.
    public init(graph: TrainingGraph, train: [TrainingSequence], validation: [TrainingSequence],
                options: TrainingOptions, random: RandomSource) throws {
        try options.validate()
        guard !train.isEmpty else { throw TrainingError.noTrainingData("the training split holds no sequences") }
        self.graph = graph
        self.options = options
        self.train = train
        self.validation = validation
        schedule = try LearningRateSchedule(peak: options.learningRate, shape: options.schedule,
                                            warmupSteps: options.warmupSteps, totalSteps: options.totalSteps(sequences: train.count))
        optimizer = AdamW(parameterCount: graph.parameters.count, settings: options.adam)
        self.random = random
        order = []
        order = shuffledOrder()
    }

    /// A fresh run on `model`: the adapter is initialised from `options.seed` (B = 0), and
    /// the same generator then shuffles the data.
    public convenience init(model: TransformerModel, train: [TrainingSequence], validation: [TrainingSequence],
                            options: TrainingOptions, contextLength: Int, recomputesActivations: Bool? = nil,
                            ternaryGradient: TernaryGradientPath = .int8, pool: ThreadPool?) throws {
        try options.validate()
        var random = RandomSource(seed: options.seed)
        let parameters = try LoRAParameters.initial(model: model, targets: options.targets, rank: options.rank,
                                                    alpha: options.alpha, random: &random)
        let graph = try TrainingGraph(model: model, parameters: parameters, capacity: contextLength,
                                      recomputesActivations: recomputesActivations, ternaryGradient: ternaryGradient, pool: pool)
        try self.init(graph: graph, train: train, validation: validation, options: options, random: random)
    }

    /// Continues the run `checkpoint` saved on `model`, with its options.
    public convenience init(model: TransformerModel, train: [TrainingSequence], validation: [TrainingSequence],
                            resumingFrom checkpoint: TrainingCheckpoint, contextLength: Int,
                            recomputesActivations: Bool? = nil, ternaryGradient: TernaryGradientPath = .int8,
                            pool: ThreadPool?) throws {
        let options = checkpoint.state.options
        var random = RandomSource(seed: options.seed)
        let parameters = try LoRAParameters.initial(model: model, targets: options.targets, rank: options.rank,
                                                    alpha: options.alpha, random: &random)
        let graph = try TrainingGraph(model: model, parameters: parameters, capacity: contextLength,
                                      recomputesActivations: recomputesActivations, ternaryGradient: ternaryGradient, pool: pool)
        try self.init(graph: graph, train: train, validation: validation, resumingFrom: checkpoint)
    }

    /// Continues the run `checkpoint` saved; `graph.parameters` gets the saved values.
    public init(graph: TrainingGraph, train: [TrainingSequence], validation: [TrainingSequence],
                resumingFrom checkpoint: TrainingCheckpoint) throws {
        let s = checkpoint.state
        try s.options.validate()
        let sites = graph.parameters.slots.map(\.site.baseTensorName)
        guard s.sites == sites, checkpoint.parameters.count == graph.parameters.count else {
            throw TrainingError.checkpoint("it holds \(s.sites.count) LoRA sites (\(checkpoint.parameters.count) values); "
                + "this run has \(sites.count) (\(graph.parameters.count) values)")
        }
        guard s.order.count == train.count, s.order.allSatisfy({ $0 >= 0 && $0 < train.count }), s.cursor <= s.order.count else {
            throw TrainingError.checkpoint("its data cursor covers \(s.order.count) sequences; the dataset now has \(train.count)")
        }
        guard let random = RandomSource(stateWords: s.random.compactMap { UInt64($0, radix: 16) }) else {
            throw TrainingError.checkpoint("random state \(s.random) is not four hex words")
        }
        self.graph = graph
        options = s.options
        self.train = train
        self.validation = validation
        schedule = try LearningRateSchedule(peak: s.options.learningRate, shape: s.options.schedule,
                                            warmupSteps: s.options.warmupSteps, totalSteps: s.options.totalSteps(sequences: train.count))
        optimizer = try AdamW(settings: s.options.adam, step: s.adamStep,
                              firstMoment: checkpoint.firstMoment, secondMoment: checkpoint.secondMoment)
        self.random = random
        step = s.step
        epoch = s.epoch
        cursor = s.cursor
        order = s.order
        for (i, v) in checkpoint.parameters.enumerated() { graph.parameters.values[i] = v }
    }

    /// Takes one optimizer step over the next `sequencesPerStep` sequences.
    public func trainStep() throws -> StepReport {
        let started = DispatchTime.now().uptimeNanoseconds
        let sequences = (0..<options.sequencesPerStep).map { _ in nextSequence() }
        let scored = sequences.reduce(0) { $0 + $1.scoredTokenCount }
        let parameters = graph.parameters
        parameters.zeroGradients()
        var loss = LossSum()
        if scored > 0 {
            let scale = 1 / Float(scored)
            let dropout = try options.loraDropout
            for (microBatch, sequence) in sequences.enumerated() where sequence.scoredTokenCount > 0 {
                loss = loss + (try graph.accumulateGradients(for: sequence, lossScale: scale,
                                                             dropout: dropout?.mask(step: step, microBatch: microBatch)))
            }
        }
        // A frozen factor's gradients would still count towards the clipping norm.
        let trained = options.trainedFactor.map { parameters.ranges(of: $0) }
        if let frozen = options.trainedFactor?.other {
            for range in parameters.ranges(of: frozen) { parameters.gradients[range].update(repeating: 0) }
        }
        let norm = GradientClipping.clip(parameters, maxNorm: options.maxGradientNorm)
        let rate = schedule.rate(at: step)
        if scored > 0 { optimizer.update(parameters, learningRate: rate, ranges: trained) }
        step += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return StepReport(step: step, loss: loss, learningRate: rate, gradientNorm: norm,
                          tokens: sequences.reduce(0) { $0 + $1.tokens.count - 1 }, seconds: seconds)
    }

    /// Loss over the validation split with the current adapter.
    public func validate() throws -> LossSum {
        try validation.reduce(LossSum()) { $0 + (try graph.evaluate($1)) }
    }

    /// The state after the last step taken.
    public func checkpoint() -> TrainingCheckpoint {
        TrainingCheckpoint(
            state: .init(step: step, epoch: epoch, cursor: cursor, order: order,
                         random: random.stateWords.map { String($0, radix: 16) }, options: options,
                         adamStep: optimizer.step, sites: graph.parameters.slots.map(\.site.baseTensorName)),
            parameters: Array(graph.parameters.values), firstMoment: optimizer.firstMoment,
            secondMoment: optimizer.secondMoment)
    }

    private func nextSequence() -> TrainingSequence {
        if cursor == order.count {
            epoch += 1
            order = shuffledOrder()
            cursor = 0
        }
        defer { cursor += 1 }
        return train[order[cursor]]
    }

    /// A Fisher–Yates shuffle of the training indices drawn from the run's generator.
    private func shuffledOrder() -> [Int] {
        var indices = Array(0..<train.count)
        guard indices.count > 1 else { return indices }
        for i in stride(from: indices.count - 1, to: 0, by: -1) {
            let j = Int(random.next() % UInt64(i + 1))
            indices.swapAt(i, j)
        }
        return indices
    }
}
