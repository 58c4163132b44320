import Foundation
import TernLedger
import TernMesh
import TernKernels
import TernModel

/// Runs one job a peer submitted on a `task/1` stream: checks it, takes a job slot, fetches
/// the inputs it lacks, runs the work on the compute executor while streaming progress,
/// signs the receipt, sends the result, and stores the requester's countersignature.
struct JobWorker: Sendable {
    let plane: TaskPlane
    let connection: SecureConnection
    let requester: NodeID
    let requestID: UInt32
    let job: JobRequest

    /// What the checked job will do.
    private enum Work {
        case generate(GenerateOptions)
        case train(TrainJobOptions)
        case complete(CompletionJobOptions)
    }

    /// False when the stream should be dropped: a job's stream carries only that job, so it
    /// always ends with it (a job that was refused before it started leaves the stream open).
    func run() async -> Bool {
        let work: Work
        do {
            work = try check()
        } catch {
            plane.counters.count("task.badJob")
            return await send(.failure(requestID: requestID, error as? TaskFailure ?? TaskFailure(.badRequest, "\(error)")))
        }
        // A completion runs on the serving engine, which queues and batches requests itself:
        // it takes no job slot, and is accepted once the engine took it.
        var completion: LocalServing.Run?
        if case .complete(let options) = work {
            do {
                completion = try await startCompletion(options)
            } catch {
                plane.counters.count("task.completionRefused")
                return await send(.failure(requestID: requestID, error as? TaskFailure ?? TaskFailure(.internalError, "\(error)")))
            }
        } else if !plane.reserveJobSlot() {
            plane.counters.count("task.busy")
            return await send(.failure(requestID: requestID, TaskFailure(
                .busy, "busy: running \(plane.settings.maxJobs) of \(plane.settings.maxJobs) jobs")))
        }
        let running = completion
        defer { if let running { running.cancel() } else { plane.releaseJobSlot() } }
        guard await send(.accepted(requestID: requestID)) else { return false }

        // One reader takes every later frame: `cancel`, or the requester going away, stops
        // the work (fetching at once; compute already running finishes and is discarded);
        // the verdict on the result goes to `awaitVerdict`.
        let (verdicts, verdictSink) = AsyncStream<TaskRequest>.makeStream()
        let performing = Task { try await perform(work, completion: running) }
        let requestID = requestID, connection = connection, counters = plane.counters
        let reader = Task {
            while let frame = try? await connection.receive() {
                guard let request = try? TaskRequest.decode(frame), request.requestID == requestID else { break }
                if case .cancel = request {
                    counters.count("task.cancelled")
                    performing.cancel()
                } else {
                    verdictSink.yield(request)
                }
            }
            verdictSink.finish()
            performing.cancel()
        }
        defer { reader.cancel() }
        do {
            let (signed, inline) = try await performing.value
            guard await send(.result(requestID: requestID, receipt: signed.encoded(), output: inline)) else { return false }
            plane.activity.count("jobs.completed")
            await awaitVerdict(on: signed, from: verdicts)
        } catch {
            if performing.isCancelled {
                _ = await send(.failure(requestID: requestID, TaskFailure(.cancelled, "job cancelled by the requester")))
            } else {
                plane.counters.count("task.jobFailed")
                plane.logger.notice("job failed", metadata: ["job": "\(Hex.encode(job.jobID))", "from": "\(requester)", "error": "\(error)"])
                _ = await send(.failure(requestID: requestID, error as? TaskFailure ?? TaskFailure(.internalError, "\(error)")))
            }
        }
        return false
    }

    /// Fetches the inputs, runs the work and signs the receipt (stored unaccepted). Returns
    /// it with the output to send inline: an output too large for one frame stays in this
    /// node's store, and the requester fetches it by the id the receipt names.
    /// A completion's output (how it ended, a few bytes) is not kept as a blob: its receipt
    /// names its hash.
    private func perform(_ work: Work, completion: LocalServing.Run?) async throws -> (SignedReceipt, [UInt8]) {
        let started = ContinuousClock.now
        let output: [UInt8], tokens: Int, chain: StepHashChain
        let outputID: BlobID
        if let completion {
            (output, tokens, chain) = try await stream(completion)
            try Task.checkCancellation()
            outputID = BlobManifest.hashing(bytes: output).id
        } else {
            let inputs = try await fetchInputs()
            for input in job.inputs { try plane.store.pin(input) }
            defer { for input in job.inputs { plane.store.unpin(input) } }
            (output, tokens, chain) = try await execute(work, inputs: inputs)
            try Task.checkCancellation()
            outputID = try plane.store.add(bytes: output, kind: job.kind == .train ? .adapter : .output,
                                           name: "job \(Hex.encode(job.jobID))").id
        }
        let receipt = JobReceipt(
            jobID: job.jobID, kind: job.kind, worker: plane.identity.nodeID, requester: requester, inputs: job.inputs,
            optionsHash: job.optionsHash, output: outputID, tokens: UInt64(tokens),
            wallMillis: UInt64(started.duration(to: .now).inSeconds * 1000), stepChainRoot: chain.root,
            finishedAtMillis: UInt64(Date().timeIntervalSince1970 * 1000))
        let signed = try SignedReceipt.sign(receipt, worker: plane.identity, mesh: plane.mesh)
        try plane.ledger.storeReceipt(ReceiptRecord(signed, accepted: false))
        return (signed, output.count <= TaskWireLimits.maxInlineOutputBytes ? output : [])
    }

    /// Refuses a job that names the wrong inputs, has options that do not parse, or is over
    /// a limit, before a slot or a byte of input is spent on it.
    private func check() throws -> Work {
        switch job.kind {
        case .generate:
            guard job.inputs.count == 1 else {
                throw TaskFailure(.badRequest, "a generate job takes exactly one input, the model; got \(job.inputs.count)")
            }
            do {
                return .generate(try GenerateOptions.decode(job.options))
            } catch {
                throw TaskFailure(.badRequest, "generate options: \(error)")
            }
        case .train:
            guard (2...3).contains(job.inputs.count) else {
                throw TaskFailure(.badRequest, "a train job takes the model, the dataset and optionally an input adapter; got \(job.inputs.count) inputs")
            }
            do {
                return .train(try TrainJobOptions(canonicalBytes: job.options))
            } catch {
                throw TaskFailure(.badRequest, "train options: \(error)")
            }
        case .complete:
            guard (1...2).contains(job.inputs.count) else {
                throw TaskFailure(.badRequest, "a complete job takes the model and optionally an adapter; got \(job.inputs.count) inputs")
            }
            do {
                return .complete(try CompletionJobOptions.decode(job.options))
            } catch {
                throw TaskFailure(.badRequest, "completion options: \(error)")
            }
        }
    }

    /// Queues a forwarded completion on this node's serving engine for the model (and
    /// adapter) the job names. Never fetches: a requester forwards only to holders.
    private func startCompletion(_ options: CompletionJobOptions) async throws -> LocalServing.Run {
        guard let serving = plane.serving else { throw TaskFailure(.notFound, "this node serves no completions") }
        for input in job.inputs where plane.store.info(input)?.complete != true {
            throw TaskFailure(.notFound, "this node does not hold \(input.short)")
        }
        return try await serving.startForwarded(model: job.inputs.map(\.hex).joined(separator: ":"), options: options)
    }

    /// Sends each token of a running completion as it is sampled; returns the output (how it
    /// ended), the tokens generated here and their hash chain. The requester going away
    /// cancels it and frees its blocks.
    private func stream(_ run: LocalServing.Run) async throws -> (output: [UInt8], tokens: Int, chain: StepHashChain) {
        let (requestID, fault, connection) = (requestID, plane.settings.completionFault, connection)
        return try await withTaskCancellationHandler {
            var chain = StepHashChain()
            var tokens = 0
            for await event in run.events {
                switch event {
                case let .token(token, text, logprobs):
                    tokens += 1
                    withUnsafeBytes(of: token.bigEndian) { chain.append(Array($0)) }
                    let reply = TaskReply.token(requestID: requestID, token: token, text: text, logprobs: LogprobEntry.entries(logprobs))
                    guard await send(reply) else { throw CancellationError() }
                    if case .vanishAfter(let count)? = fault, tokens == count {
                        await connection.close()
                        throw CancellationError()
                    }
                case let .finished(outcome):
                    run.markEnded()
                    if fault == .forgeReceipt { chain.append([0, 0, 0, 0]) }
                    if fault == .overrun { _ = await send(.token(requestID: requestID, token: 0, text: "?", logprobs: [])) }
                    let result = CompletionJobResult(
                        finish: outcome.finishReason == .length ? .length : outcome.finishReason == .stopString ? .stopString : .endOfGeneration,
                        promptTokens: UInt32(clamping: outcome.promptTokens), completionTokens: UInt32(clamping: outcome.completionTokens),
                        trailingText: outcome.trailingText)
                    return (result.encoded(), tokens, chain)
                case let .failed(reason):
                    run.markEnded()
                    throw TaskFailure(.internalError, "generation failed: \(reason)")
                }
            }
            throw CancellationError()
        } onCancel: {
            run.cancel()
        }
    }

    /// Local paths of every input, fetching those not held from the requester, the named
    /// holders or any live member. Sends a keep-alive progress message every 5 s meanwhile,
    /// so the stream is not closed as idle during a long fetch.
    private func fetchInputs() async throws -> [String] {
        let keepAlive = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(5))
                try await connection.send(TaskReply.progress(requestID: requestID, text: "", done: 0, loss: nil).encoded())
            }
        }
        defer { keepAlive.cancel() }
        var paths: [String] = []
        for (position, input) in job.inputs.enumerated() {
            if plane.store.info(input)?.complete != true {
                do {
                    _ = try await plane.fetch(input, kind: Self.kind(ofInput: position, in: job), name: nil,
                                              hints: [requester] + job.holders)
                } catch {
                    throw TaskFailure(.notFound, "input \(input.short): \(error)")
                }
            }
            paths.append(try plane.store.path(of: input))
        }
        return paths
    }

    /// What the input at `position` holds: the model first, then a train job's dataset and
    /// input adapter.
    static func kind(ofInput position: Int, in job: JobRequest) -> BlobKind {
        switch (job.kind, position) {
        case (_, 0): .model
        case (.train, 1): .dataset
        default: .adapter
        }
    }

    /// Runs the work on the compute executor; progress goes out as it is produced.
    private func execute(_ work: Work, inputs: [String]) async throws -> (output: [UInt8], tokens: Int, chain: StepHashChain) {
        let (requestID, threads, fault) = (requestID, plane.settings.kernelThreads, plane.settings.trainFault)
        switch work {
        case let .generate(options):
            let modelPath = inputs[0]
            let result = try await computeStreaming { report in
                var done: UInt32 = 0
                return try GenerateJob.run(modelPath: modelPath, options: options, threads: threads) { piece in
                    done += 1
                    report(.progress(requestID: requestID, text: piece, done: done, loss: nil))
                }
            }
            return (Array(result.text.utf8), result.tokens.count, result.stepChain)
        case .complete:
            preconditionFailure("a completion streams from the serving engine, not the compute executor")
        case let .train(options):
            let (model, dataset, adapter) = (inputs[0], inputs[1], inputs.count > 2 ? inputs[2] : nil)
            let result = try await computeStreaming { report in
                try TrainJob.run(modelPath: model, datasetPath: dataset, inputAdapterPath: adapter, options: options,
                                 pool: ThreadPool(threads: threads),
                                 perturbAfterStep: fault == .perturbUpdate ? (options.steps + 1) / 2 : nil) { step in
                    // The step's result hash rides in the text: the requester folds them into
                    // the receipt's chain and, after a failed check, finds the first bad step.
                    report(.progress(requestID: requestID, text: Hex.encode(step.resultHash), done: UInt32(clamping: step.step),
                                     loss: step.loss))
                }
            }
            guard fault == .tamperOutput else { return (result.adapterBytes, result.tokens, result.stepChain) }
            return (try Self.tampered(result.adapterBytes, model: model), result.tokens, result.stepChain)
        }
    }

    /// Runs `work` on the compute executor; the progress messages it reports go out in order
    /// while it runs (from a task of their own, never blocking the compute thread), and all
    /// have been sent when this returns.
    private func computeStreaming<Output: Sendable>(
        _ work: @escaping @Sendable (_ report: @escaping (TaskReply) -> Void) throws -> Output
    ) async throws -> Output {
        let (replies, sink) = AsyncStream<TaskReply>.makeStream()
        let connection = connection
        let forwarder = Task {
            for await reply in replies { try? await connection.send(reply.encoded()) }
        }
        let result: Result<Output, any Error>
        do {
            result = .success(try await plane.compute.run { try work { sink.yield($0) } })
        } catch {
            result = .failure(error)
        }
        sink.finish()
        await forwarder.value
        return try result.get()
    }

    /// The fault `tamperOutput` injects: the first value of the first B moved a little.
    static func tampered(_ adapterBytes: [UInt8], model: String) throws -> [UInt8] {
        var adapter = try LoRAAdapterFile(file: try GGUFFile(bytes: adapterBytes), path: "output").adapter
        guard let site = adapter.sites.first else { return adapterBytes }
        adapter.weights[site]!.b[0] += 1e-3
        return try LoRAAdapterFile.serialized(adapter, baseModel: try GGUFFile(path: model))
    }

    /// Waits for the requester's accept (a valid countersignature over this very receipt,
    /// stored in the ledger) or reject (counted).
    private func awaitVerdict(on signed: SignedReceipt, from verdicts: AsyncStream<TaskRequest>) async {
        let verdict = try? await withDeadline(plane.settings.acceptTimeout) {
            var iterator = verdicts.makeAsyncIterator()
            return await iterator.next()
        }
        switch verdict {
        case let .accept(_, bytes)?:
            guard let countersigned = try? SignedReceipt.decode(bytes, mesh: plane.mesh),
                  countersigned.body == signed.body, countersigned.workerSignature == signed.workerSignature,
                  countersigned.requesterSignatureIsValid(mesh: plane.mesh) else {
                plane.counters.count("task.badCountersignature")
                _ = await send(.failure(requestID: requestID, TaskFailure(.badRequest, "countersignature does not verify")))
                return
            }
            do {
                try plane.ledger.storeReceipt(ReceiptRecord(countersigned, accepted: true))
            } catch {
                _ = await send(.failure(requestID: requestID, TaskFailure(.internalError, "ledger: \(error)")))
                return
            }
            _ = await send(.acknowledged(requestID: requestID))
        case let .reject(_, reason)?:
            plane.counters.count("task.resultRejected")
            plane.logger.notice("result rejected", metadata: ["job": "\(Hex.encode(job.jobID))", "reason": "\(reason)"])
        default:
            plane.counters.count("task.noVerdict")
        }
    }

    private func send(_ reply: TaskReply) async -> Bool {
        (try? await connection.send(reply.encoded())) != nil
    }
}
