import Foundation
import TernKernels
import TernMesh
import TernTrain

/// What a `train` job returns.
public struct TrainJobResult: Sendable {
    /// The trained adapter as a GGUF LoRA file (what `tern finetune` writes).
    public var adapterBytes: [UInt8]
    /// Mean of the per-step losses.
    public var meanLoss: Double
    /// Each step's mean loss per scored token.
    public var losses: [Double]
    /// Tokens the model read, over every step.
    public var tokens: Int
    /// One entry per step: BLAKE2b-256 of every LoRA parameter after that step's update
    /// (A₀, B₀, A₁, B₁, … in site order, float32 little-endian). The loss is not hashed: it
    /// follows from the parameters before the step, which the previous entry commits to.
    public var stepChain: StepHashChain
    /// The result hash of every step, in order (what `stepChain` folds): a verifier compares
    /// them with a worker's to find the first step where the two runs part.
    public var stepResults: [[UInt8]]
}

/// One finished step of a train job, as it is reported while the job runs.
public struct TrainJobStep: Sendable, Equatable {
    /// 1-based.
    public var step: Int
    public var loss: Double
    /// BLAKE2b-256 of the parameters after the step (the entry `stepChain` appends).
    public var resultHash: [UInt8]
}

/// A `train` job: base model + dataset shard + input adapter (optional) + options → output
/// adapter, its loss, tokens and a hash of every step's result.
///
/// The run is `tern finetune` without files, checkpoints or validation: constant learning
/// rate, no dropout, no held-out split. A fresh adapter starts as `tern finetune` starts one
/// (A from the seed, B = 0); an input adapter must have the options' rank, alpha and modules
/// on every block.
public enum TrainJob {
    /// Runs synchronously on the caller's thread (the daemon calls it on its compute
    /// executor); `pool` spreads the kernels over more threads without changing any result.
    /// Deterministic for fixed inputs and seed: two runs give identical `adapterBytes` and
    /// chain roots. `progress` gets each finished step. `perturbAfterStep` is a test-only
    /// fault (`TrainFault.perturbUpdate`).
    public static func run(modelPath: String, datasetPath: String, inputAdapterPath: String?, options: TrainJobOptions,
                           pool: ThreadPool? = nil, perturbAfterStep: Int? = nil,
                           progress: (TrainJobStep) -> Void = { _ in }) throws -> TrainJobResult {
        try options.validate()
        for (role, path) in [("model", modelPath), ("dataset", datasetPath), ("input adapter", inputAdapterPath)] {
            if let path, !FileManager.default.fileExists(atPath: path) { throw TrainJobError.missingFile(role: role, path: path) }
        }
        let targets = options.modules.map { LoRATarget(rawValue: $0)! }
        let (file, tokenizer, model) = try loadModel(modelPath)
        let data = try trainingData(file: file, tokenizer: tokenizer, datasetPath: datasetPath, options: options)

        var train = data.train
        if let start = options.shardStart, let length = options.shardLength {
            guard !train.isEmpty else { throw TrainJobError.badDataset(path: datasetPath, reason: "it holds no training sequence") }
            train = (0..<length).map { data.train[(start + $0) % data.train.count] }
        }

        var training = TrainingOptions()
        training.rank = options.rank
        training.alpha = Float(options.alpha)
        training.targets = targets
        training.learningRate = Float(options.learningRate)
        training.steps = options.steps
        training.batchSize = options.batchSize
        training.seed = options.seed
        training.trainedFactor = options.trainFactor.map { LoRAFactor(rawValue: $0)! }

        let trainer: Trainer
        if let inputAdapterPath {
            let parameters = try LoRAParameters(adapter: try inputAdapter(inputAdapterPath, for: file, blockCount: model.parameters.blockCount, options: options, targets: targets))
            let graph = try TrainingGraph(model: model, parameters: parameters, capacity: options.sequenceLength, pool: pool)
            trainer = try Trainer(graph: graph, train: train, validation: [], options: training,
                                  random: RandomSource(seed: options.seed))
        } else {
            trainer = try Trainer(model: model, train: train, validation: [], options: training,
                                  contextLength: options.sequenceLength, pool: pool)
        }

        let parameters = trainer.graph.parameters
        var losses: [Double] = [], tokens = 0, chain = StepHashChain(), stepResults: [[UInt8]] = []
        while !trainer.isFinished {
            let report = try trainer.trainStep()
            guard report.loss.mean.isFinite else { throw TrainJobError.nonFiniteLoss(step: report.step) }
            losses.append(report.loss.mean)
            tokens += report.tokens
            if report.step == perturbAfterStep, let slot = parameters.slots.first {
                // TrainFault.perturbUpdate: a worker that cheats mid-job, consistently.
                parameters.values[options.trainFactor == "A" ? slot.aOffset : slot.bOffset] += 1e-3
            }
            let resultHash = StepHashChain.digest(UnsafeRawBufferPointer(parameters.values))
            chain.append(resultHash)
            stepResults.append(resultHash)
            progress(TrainJobStep(step: report.step, loss: report.loss.mean, resultHash: resultHash))
        }
        return TrainJobResult(adapterBytes: try LoRAAdapterFile.serialized(parameters.adapter, baseModel: file),
                              meanLoss: losses.reduce(0, +) / Double(losses.count), losses: losses, tokens: tokens,
                              stepChain: chain, stepResults: stepResults)
    }

    /// The result hash a step that ended with `adapter`'s parameters has (BLAKE2b-256 of
    /// every LoRA parameter, laid out as training lays them out). A requester compares it with
    /// the last step hash a worker reported: a returned adapter that is not the one the
    /// signed chain ends in is refused without re-running anything.
    public static func parameterHash(of adapter: LoRAAdapter) throws -> [UInt8] {
        let parameters = try LoRAParameters(adapter: adapter)
        return StepHashChain.digest(UnsafeRawBufferPointer(parameters.values))
    }

    /// How many training sequences `datasetPath` makes for `options` (what a shard's start
    /// and length count), as a worker will cut them.
    public static func trainingSequenceCount(modelPath: String, datasetPath: String, options: TrainJobOptions) throws -> Int {
        let file: GGUFFile, tokenizer: Tokenizer
        do {
            file = try GGUFFile(path: modelPath)
            tokenizer = try Tokenizer(file: file)
        } catch {
            throw TrainJobError.badModel(path: modelPath, reason: "\(error)")
        }
        return try trainingData(file: file, tokenizer: tokenizer, datasetPath: datasetPath, options: options).train.count
    }

    private static func trainingData(file: GGUFFile, tokenizer: Tokenizer, datasetPath: String,
                                     options: TrainJobOptions) throws -> TrainingDataSplit {
        let format = try options.format.map { TrainingDataFormat(rawValue: $0)! } ?? DatasetFormatDetector.format(ofFileAt: datasetPath)
        do {
            let template = format == .chat ? try ChatTemplate(file: file) : nil
            return try TrainingData.load(path: datasetPath, format: format, tokenizer: tokenizer, chatTemplate: template,
                                         contextLength: options.sequenceLength, validationFraction: 0, seed: options.seed)
        } catch {
            throw TrainJobError.badDataset(path: datasetPath, reason: "\(error)")
        }
    }

    private static func loadModel(_ path: String) throws(TrainJobError) -> (GGUFFile, Tokenizer, TransformerModel) {
        do {
            let file = try GGUFFile(path: path)
            return (file, try Tokenizer(file: file), try TransformerModel(file: file, layoutCache: LayoutCache.forJobs))
        } catch {
            throw .badModel(path: path, reason: "\(error)")
        }
    }

    /// The adapter in `path`, checked to be for this model and exactly the shape the options
    /// describe: a job must not silently train something else than what its receipt names.
    private static func inputAdapter(_ path: String, for model: GGUFFile, blockCount: Int, options: TrainJobOptions,
                                     targets: [LoRATarget]) throws(TrainJobError) -> LoRAAdapter {
        let file: LoRAAdapterFile
        do {
            file = try LoRAAdapterFile.open(path: path)
            try LoRAAdapterFile.validate(file.adapter, against: model)
        } catch {
            throw .badAdapter(path: path, reason: "\(error)")
        }
        let adapter = file.adapter
        let architecture = model.metadata["general.architecture"]?.stringValue ?? "?"
        guard file.architecture == architecture else {
            throw .badAdapter(path: path, reason: "it is for a \(file.architecture) model, the base model is \(architecture)")
        }
        guard adapter.rank == options.rank, adapter.alpha == Float(options.alpha) else {
            throw .badAdapter(path: path, reason: "rank \(adapter.rank) and alpha \(adapter.alpha) differ from the options' "
                + "\(options.rank) and \(options.alpha)")
        }
        let expected = (0..<blockCount).flatMap { layer in targets.map { LoRASite(layer: layer, target: $0) } }
        guard Set(adapter.sites) == Set(expected) else {
            let modules = Set(adapter.sites.map(\.target.rawValue)).sorted().joined(separator: ",")
            throw .badAdapter(path: path, reason: "its pairs (\(modules) on \(Set(adapter.sites.map(\.layer)).count) blocks) are not "
                + "the options' \(options.modules.joined(separator: ",")) on each of the model's \(blockCount) blocks")
        }
        return adapter
    }
}
