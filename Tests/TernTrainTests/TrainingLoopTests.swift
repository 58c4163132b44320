import Foundation
import Testing
import TernKernels
import TernTrain

@Suite("optimizer, schedules, training loop, checkpoints")
struct TrainingLoopTests {
    private static func trainer(_ model: TransformerModel, data: [TrainingSequence], options: TrainingOptions,
                                capacity: Int = 16) throws -> Trainer {
        var random = RandomSource(seed: options.seed)
        let parameters = try LoRAParameters.initial(model: model, targets: options.targets, rank: options.rank,
                                                    alpha: options.alpha, random: &random)
        let graph = try TrainingGraph(model: model, parameters: parameters, capacity: capacity)
        return try Trainer(graph: graph, train: data, validation: [data[0]], options: options, random: random)
    }

    private static var dataset: [TrainingSequence] {
        get throws {
            try [[1, 7, 3, 9, 12, 30, 2, 5, 11], [4, 4, 18, 22, 6, 1, 39, 13], [8, 16, 24, 32, 0, 7, 14, 21, 28, 35]]
                .map { try TinyModel.sequence($0.map(Int32.init)) }
        }
    }

    @Test("a tiny model overfits a tiny dataset: loss falls by more than 10x")
    func overfits() throws {
        let model = try TinyModel.make(architecture: .llama, embedding: 32, heads: 4, kvHeads: 2, feedForward: 48)
        var options = TrainingOptions()
        options.rank = 8
        options.alpha = 16
        options.targets = LoRATarget.allCases
        options.learningRate = 2e-2
        options.steps = 150
        options.gradientAccumulation = 3
        let trainer = try Self.trainer(model, data: try Self.dataset, options: options)
        let before = try trainer.validate().mean
        var last = 0.0
        while !trainer.isFinished { last = try trainer.trainStep().loss.mean }
        let after = try trainer.validate().mean
        #expect(before > 2, "initial loss \(before)")
        #expect(after < before / 10, "validation loss \(before) → \(after) (last step \(last))")
    }

    @Test("resume is bit-identical: 6 steps straight = 3 steps, checkpoint, new process state, 3 steps",
          arguments: [Float(0), 0.25])
    func resume(dropout: Float) throws {
        let model = try TinyModel.make(architecture: .bitnet, relu2: true)
        var options = TrainingOptions()
        options.targets = [.attentionQuery, .attentionValue, .feedForwardDown]
        options.learningRate = 1e-2
        options.schedule = .cosine
        options.warmupSteps = 2
        options.steps = 6
        options.batchSize = 2
        options.adam.weightDecay = 0.01
        options.dropout = dropout
        let data = try Self.dataset

        let straight = try Self.trainer(model, data: data, options: options)
        var straightLosses: [Double] = []
        while !straight.isFinished { straightLosses.append(try straight.trainStep().loss.total) }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tern-resume-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try Self.trainer(model, data: data, options: options)
        var resumedLosses: [Double] = []
        for _ in 0..<3 { resumedLosses.append(try first.trainStep().loss.total) }
        try first.checkpoint().write(to: directory)

        let saved = try TrainingCheckpoint.read(from: directory)
        #expect(saved == first.checkpoint())
        #expect(saved.state.options.dropout == dropout)
        var random = RandomSource(seed: 999)
        let parameters = try LoRAParameters.initial(model: model, targets: options.targets, rank: options.rank,
                                                    alpha: options.alpha, random: &random)
        let graph = try TrainingGraph(model: model, parameters: parameters, capacity: 16)
        let second = try Trainer(graph: graph, train: data, validation: [], resumingFrom: saved)
        #expect(second.step == 3)
        while !second.isFinished { resumedLosses.append(try second.trainStep().loss.total) }

        #expect(resumedLosses == straightLosses)
        let a = Array(straight.graph.parameters.values).map(\.bitPattern)
        let b = Array(second.graph.parameters.values).map(\.bitPattern)
        #expect(a == b)
        #expect(straight.checkpoint().firstMoment == second.checkpoint().firstMoment)
    }

    @Test("a checkpoint directory without 'latest', or for other sites, is refused with a reason")
    func checkpointErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tern-ckpt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(throws: TrainingError.checkpoint("no 'latest' file in \(directory)")) { try TrainingCheckpoint.read(from: directory) }

        let model = try TinyModel.make()
        var options = TrainingOptions()
        options.steps = 1
        let trainer = try Self.trainer(model, data: try Self.dataset, options: options)
        _ = try trainer.trainStep()
        try trainer.checkpoint().write(to: directory)
        var random = RandomSource(seed: 1)
        let other = try LoRAParameters.initial(model: model, targets: [.feedForwardUp], rank: 8, alpha: 16, random: &random)
        let graph = try TrainingGraph(model: model, parameters: other, capacity: 16)
        #expect(throws: TrainingError.self) {
            try Trainer(graph: graph, train: try Self.dataset, validation: [], resumingFrom: try TrainingCheckpoint.read(from: directory))
        }
    }

    @Test("learning-rate schedules: warmup, constant, cosine, linear")
    func schedules() throws {
        let constant = try LearningRateSchedule(peak: 1, shape: .constant, warmupSteps: 4, totalSteps: 14)
        #expect(constant.rate(at: 0) == 0.25)
        #expect(constant.rate(at: 3) == 1)
        #expect(constant.rate(at: 13) == 1)
        let cosine = try LearningRateSchedule(peak: 2, shape: .cosine, warmupSteps: 0, totalSteps: 10)
        #expect(cosine.rate(at: 0) == 2)
        #expect(abs(cosine.rate(at: 5) - 1) < 1e-6)
        #expect(cosine.rate(at: 10) < 1e-6)
        let linear = try LearningRateSchedule(peak: 1, shape: .linear, warmupSteps: 2, totalSteps: 12)
        #expect(abs(linear.rate(at: 7) - 0.5) < 1e-6)
        #expect(throws: TrainingError.self) { try LearningRateSchedule(peak: 0, totalSteps: 1) }
    }

    @Test("AdamW: first step moves each parameter by lr·sign(g); decay is decoupled from the gradient")
    func adamW() throws {
        let model = try TinyModel.make()
        var random = RandomSource(seed: 2)
        let parameters = try LoRAParameters.initial(model: model, targets: [.attentionQuery], rank: 2, alpha: 2, random: &random)
        for i in 0..<parameters.count {
            parameters.values[i] = 1
            parameters.gradients[i] = i % 2 == 0 ? 3 : -0.5
        }
        parameters.gradients[1] = 0
        let optimizer = AdamW(parameterCount: parameters.count, settings: .init(weightDecay: 0.1))
        optimizer.update(parameters, learningRate: 0.01)
        #expect(abs(parameters.values[0] - (1 - 0.01 - 0.001)) < 1e-6)
        #expect(abs(parameters.values[1] - (1 - 0.001)) < 1e-6)
        #expect(abs(parameters.values[3] - (1 + 0.01 - 0.001)) < 1e-6)

        parameters.zeroGradients()
        parameters.gradients[0] = 3
        parameters.gradients[5] = 4
        #expect(GradientClipping.clip(parameters, maxNorm: 10) == 5)
        #expect(parameters.gradients[0] == 3)
        #expect(GradientClipping.clip(parameters, maxNorm: 1) == 5)
        #expect(abs(parameters.gradientNorm - 1) < 1e-6)
        #expect(abs(parameters.gradients[5] - 0.8) < 1e-6)
    }

    @Test("training one LoRA factor leaves the other bit-identical, weight decay included", arguments: LoRAFactor.allCases)
    func trainsOneFactor(factor: LoRAFactor) throws {
        let model = try TinyModel.make(architecture: .llama)
        var options = TrainingOptions()
        options.targets = [.attentionQuery, .feedForwardUp]
        options.learningRate = 1e-2
        options.steps = 3
        options.adam.weightDecay = 0.1
        options.trainedFactor = factor
        let random = RandomSource(seed: options.seed)
        // B random too: from B = 0, A would get no gradient and the test would prove nothing.
        let parameters = try TinyModel.adapter(for: model, targets: options.targets, rank: options.rank, alpha: options.alpha)
        let graph = try TrainingGraph(model: model, parameters: parameters, capacity: 16)
        let trainer = try Trainer(graph: graph, train: try Self.dataset, validation: [], options: options, random: random)
        let before = Array(parameters.values)
        while !trainer.isFinished { _ = try trainer.trainStep() }
        for range in parameters.ranges(of: factor.other) { #expect(Array(parameters.values[range]) == Array(before[range])) }
        #expect(parameters.ranges(of: factor).contains { Array(parameters.values[$0]) != Array(before[$0]) })
        #expect(trainer.checkpoint().state.options.trainedFactor == factor)
    }
}
