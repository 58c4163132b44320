import ArgumentParser
import Foundation
import TernKernels
import TernTrain

/// `tern finetune [local] MODEL --data FILE --out ADAPTER.gguf`: trains a LoRA adapter on a
/// frozen base with a live progress line on standard error, checkpoints every N steps and on
/// Ctrl-C (exit 130), and a final summary (a table, or `--json`).
struct FinetuneLocal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local",
        abstract: "Train a LoRA adapter on this machine on a frozen GGUF model (the default subcommand)."
    )

    @Argument(help: "Path to a .gguf base model.") var model: String
    @Option(help: "Training data file.") var data: String
    @Option(help: "Data format: text, chat (JSONL messages) or completion (JSONL prompt/completion).")
    var format: String = TrainingDataFormat.text.rawValue
    @Option(help: "Chat template for --format chat when the model has none or it is not recognized.") var chatTemplate: String?
    @Option(help: "Where to write the adapter (GGUF LoRA).") var out: String
    @Option(help: "LoRA rank.") var rank = 8
    @Option(help: "LoRA alpha (the update is scaled by alpha/rank).") var alpha: Float = 16
    @Option(help: "Comma-separated LoRA modules: \(LoRATarget.allCases.map(\.rawValue).joined(separator: ",")).")
    var modules = LoRATarget.attention.map(\.rawValue).joined(separator: ",")
    @Option(help: "Peak learning rate.") var lr: Float = 1e-4
    @Option(help: "Passes over the training data (ignored with --steps).") var epochs = 1
    @Option(help: "Optimizer steps (default: --epochs passes).") var steps: Int?
    @Option(help: "Context length: tokens per training sequence.") var ctx = 128
    @Option(help: "Sequences per micro-batch.") var batch = 1
    @Option(help: "Micro-batches per optimizer step.") var gradAccum = 1
    @Option(help: "Learning-rate schedule after warmup: constant, cosine or linear.") var lrScheduler = LearningRateShape.constant.rawValue
    @Option(help: "Warmup steps (linear ramp to --lr).") var warmup = 0
    @Option(help: "AdamW decoupled weight decay.") var weightDecay: Float = 0
    @Option(help: "Global gradient-norm clip (0 disables).") var clip: Float = 1
    @Option(help: "Fraction of examples held out for validation.") var valSplit = 0.05
    @Option(help: "Write a checkpoint every N steps (0: only on Ctrl-C).") var checkpointEvery = 0
    @Option(help: "Checkpoint directory (default: OUT.checkpoint, or the --resume directory).") var checkpointDir: String?
    @Option(help: "Continue the run saved in this checkpoint directory (its options win; a different --dropout is refused).") var resume: String?
    @Option(help: "Activation recomputation: on, off, or auto (on when saved activations would pass 256 MiB).")
    var recompute = "auto"
    @Option(help: "Input gradients through ternary weights: int8 (transposed copy, fast) or float (exact).")
    var ternaryGradient = TernaryGradientPath.int8.rawValue
    @Option(help: "Kernel threads (default: one per CPU).") var threads: Int?
    @Option(help: "Seed of the adapter initialisation, data shuffling, validation split and dropout masks.") var seed: UInt64 = 42
    @Option(help: ArgumentHelp("LoRA dropout: the probability that each input element of a LoRA pair is zeroed while training (the rest are scaled by 1/(1-P); the base projection and validation see the whole input). Default 0.",
                               valueName: "P"))
    var dropout: Float?
    @Option(help: "Also write the adapter as a Hugging Face PEFT directory (adapter_model.safetensors, adapter_config.json with this run's lora_dropout).")
    var peft: String?
    @Flag(help: "Print the final summary as JSON.") var json = false

    func validate() throws {
        guard TrainingDataFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(TrainingDataFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format)'")
        }
        guard LearningRateShape(rawValue: lrScheduler) != nil else {
            throw ValidationError("--lr-scheduler must be one of \(LearningRateShape.allCases.map(\.rawValue).joined(separator: ", ")), got '\(lrScheduler)'")
        }
        guard ctx >= 2 else { throw ValidationError("--ctx must be at least 2, got \(ctx)") }
        guard (0..<1).contains(valSplit) else { throw ValidationError("--val-split must be in [0, 1), got \(valSplit)") }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must not be negative") }
        guard ["on", "off", "auto"].contains(recompute) else { throw ValidationError("--recompute must be on, off or auto") }
        guard TernaryGradientPath(rawValue: ternaryGradient) != nil else { throw ValidationError("--ternary-gradient must be int8 or float") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let dropout, !(dropout >= 0 && dropout < 1) { throw ValidationError("--dropout must be in [0, 1), got \(dropout)") }
    }

    private var options: TrainingOptions {
        get throws {
            var o = TrainingOptions()
            o.rank = rank
            o.alpha = alpha
            o.targets = try LoRATarget.parseList(modules)
            o.learningRate = lr
            o.schedule = LearningRateShape(rawValue: lrScheduler)!
            o.warmupSteps = warmup
            o.steps = steps
            o.epochs = epochs
            o.batchSize = batch
            o.gradientAccumulation = gradAccum
            o.maxGradientNorm = clip
            o.adam.weightDecay = weightDecay
            o.seed = seed
            o.dropout = dropout ?? 0
            try o.validate()
            return o
        }
    }

    struct Summary: Codable {
        let steps: Int
        let total_steps: Int
        let interrupted: Bool
        let train_sequences: Int
        let validation_sequences: Int
        let tokens: Int
        let seconds: Double
        let tokens_per_second: Double
        let peak_rss_bytes: Int
        let final_loss: Double
        let initial_val_loss: Double?
        let val_loss: Double?
        let val_perplexity: Double?
        let dropout: Float
        let adapter: String
        let peft: String?
        let checkpoint: String?
    }

    func run() throws {
        let file = try GGUFFile(path: model)
        let tokenizer = try Tokenizer(file: file)
        let transformer = try TransformerModel(file: file, layoutCache: LayoutCache.forCommand)
        let dataFormat = TrainingDataFormat(rawValue: format)!
        var template: ChatTemplate?
        if dataFormat == .chat { template = try chatTemplate.map { try ChatTemplate(name: $0) } ?? ChatTemplate(file: file) }
        let split = try TrainingData.load(path: data, format: dataFormat, tokenizer: tokenizer, chatTemplate: template,
                                          contextLength: ctx, validationFraction: valSplit, seed: seed)
        let pool = ThreadPool(threads: threads)
        let recomputes: Bool? = recompute == "auto" ? nil : recompute == "on"
        let gradientPath = TernaryGradientPath(rawValue: ternaryGradient)!
        let trainer: Trainer
        if let resume {
            let checkpoint = try TrainingCheckpoint.read(from: resume)
            try checkpoint.state.options.checkResume(requestedDropout: dropout)
            trainer = try Trainer(model: transformer, train: split.train, validation: split.validation,
                                  resumingFrom: checkpoint, contextLength: ctx,
                                  recomputesActivations: recomputes, ternaryGradient: gradientPath, pool: pool)
        } else {
            trainer = try Trainer(model: transformer, train: split.train, validation: split.validation, options: try options,
                                  contextLength: ctx, recomputesActivations: recomputes, ternaryGradient: gradientPath, pool: pool)
        }
        let checkpointDirectory = checkpointDir ?? resume ?? out + ".checkpoint"
        InterruptFlag.install()

        let progress = ProgressLine(total: trainer.totalSteps, startStep: trainer.step)
        // The starting point, so a run shows what it changed (skipped when resuming).
        let initialValidation = trainer.step == 0 && !trainer.validation.isEmpty ? try trainer.validate() : nil
        var validationLoss = initialValidation
        var lastLoss = 0.0, tokens = 0, seconds = 0.0
        var wroteCheckpoint = false
        while !trainer.isFinished && !InterruptFlag.isRaised {
            let report = try trainer.trainStep()
            lastLoss = report.loss.mean
            tokens += report.tokens
            seconds += report.seconds
            if checkpointEvery > 0 && report.step % checkpointEvery == 0 {
                try trainer.checkpoint().write(to: checkpointDirectory)
                wroteCheckpoint = true
                if !trainer.validation.isEmpty { validationLoss = try trainer.validate() }
            }
            progress.show(report, validation: validationLoss, tokens: tokens, seconds: seconds)
        }
        let interrupted = InterruptFlag.isRaised && !trainer.isFinished
        if interrupted {
            try trainer.checkpoint().write(to: checkpointDirectory)
            wroteCheckpoint = true
        }
        if !trainer.validation.isEmpty { validationLoss = try trainer.validate() }
        progress.finish()
        let adapter = trainer.graph.parameters.adapter
        try LoRAAdapterFile.write(adapter, to: out, baseModel: file)
        if let peft {
            var export = try PEFTExport(adapter: adapter, baseModel: file)
            export.loraDropout = trainer.options.dropout
            try export.write(to: peft)
        }

        let summary = Summary(
            steps: trainer.step, total_steps: trainer.totalSteps, interrupted: interrupted,
            train_sequences: split.train.count, validation_sequences: split.validation.count, tokens: tokens,
            seconds: seconds, tokens_per_second: seconds > 0 ? Double(tokens) / seconds : 0,
            peak_rss_bytes: PeakMemory.residentBytes, final_loss: lastLoss, initial_val_loss: initialValidation?.mean,
            val_loss: validationLoss?.mean,
            val_perplexity: validationLoss.map { exp($0.mean) }, dropout: trainer.options.dropout, adapter: out, peft: peft, checkpoint: wroteCheckpoint ? checkpointDirectory : nil)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            var table = TablePrinter("steps", "tokens", "tokens/s", "final loss", "val loss (start → end)", "val ppl", "peak RSS MiB", "adapter")
            let start = summary.initial_val_loss.map { String(format: "%.4f → ", $0) } ?? ""
            table.add(["\(summary.steps)/\(summary.total_steps)", "\(tokens)", String(format: "%.1f", summary.tokens_per_second),
                       String(format: "%.4f", lastLoss), summary.val_loss.map { start + String(format: "%.4f", $0) } ?? "-",
                       summary.val_perplexity.map { String(format: "%.2f", $0) } ?? "-",
                       String(format: "%.0f", Double(summary.peak_rss_bytes) / 1_048_576), out])
            print(table.render())
        }
        if interrupted {
            FileHandle.standardError.write(Data("interrupted: checkpoint in \(checkpointDirectory) (resume with --resume)\n".utf8))
            throw ExitCode(130)
        }
    }
}

/// The live `step 12/100 · loss 2.345 · val 2.501 · 123.4 tok/s · ETA 1m23s` line on
/// standard error: rewritten in place on a terminal; otherwise (a log file) one line about
/// every 5% of the run and at the last step.
struct ProgressLine {
    let total: Int
    let startStep: Int
    private let terminal = isatty(STDERR_FILENO) != 0

    init(total: Int, startStep: Int) {
        self.total = total
        self.startStep = startStep
    }

    func show(_ report: StepReport, validation: LossSum?, tokens: Int, seconds: Double) {
        let every = max(1, total / 20)
        guard terminal || report.step % every == 0 || report.step == total else { return }
        let rate = seconds > 0 ? Double(tokens) / seconds : 0
        let stepsDone = report.step - startStep
        let eta = stepsDone > 0 ? seconds / Double(stepsDone) * Double(total - report.step) : 0
        var line = String(format: "step %d/%d · loss %.4f", report.step, total, report.loss.mean)
        if let validation { line += String(format: " · val %.4f", validation.mean) }
        line += String(format: " · lr %.2e · %.1f tok/s · ETA %@", report.learningRate, rate, Self.duration(eta))
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
