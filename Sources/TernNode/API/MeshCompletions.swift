import Foundation
import Logging
import Synchronization
import TernLedger
import TernMesh
import TernModel
import TernTasks

/// Serves completions for models this node does not hold: forwards each over `task/1` (a
/// `complete` job) to a live peer whose signed profile lists the model, ranked by
/// `ServingRouteRanking`, and streams its tokens back as this node's own.
///
/// **Failover.** When the worker fails after it accepted — it dies, its connection drops,
/// its result does not check out — the request goes to the next holder with the tokens
/// already streamed as `resumedTokens`: that worker prefills them, replays them through its
/// stop conditions and the sampler's random draws, and continues exactly where the first
/// one stopped (the same seed gives the same continuation). The client sees one unbroken
/// stream; it is told of a failure only when every holder failed.
public final class MeshCompletions: Sendable {
    let plane: TaskPlane
    let metrics: NodeMetrics
    let logger: Logger
    /// Forwarded completions that failed lately, by peer, and when the last one did: such a
    /// peer goes last in the ranking until `failureMemory` has passed without another.
    private let failures = Mutex<[NodeID: (count: Int, last: ContinuousClock.Instant)]>([:])
    static let failureMemory: Duration = .seconds(300)

    public init(plane: TaskPlane, metrics: NodeMetrics, logger: Logger) {
        self.plane = plane
        self.metrics = metrics
        self.logger = logger
    }

    /// The blobs a model name stands for on the mesh: peers' profiles list content hashes,
    /// so a forwarded model is named by blob id (`/v1/models` lists them), optionally with
    /// `:ADAPTER` by blob id.
    static func blobIDs(of name: String) -> [BlobID]? {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return nil }
        let ids = parts.compactMap { BlobID(hex: String($0).lowercased()) }
        return ids.count == parts.count ? ids : nil
    }

    /// Live peers holding every blob of `inputs`, best first.
    func holders(of inputs: [BlobID]) async -> [NodeID] {
        let live = await plane.dialer.liveMembers()
        let now = ContinuousClock.now
        let failed = failures.withLock { failures in
            failures = failures.filter { now - $0.value.last < Self.failureMemory }
            return failures
        }
        var candidates: [ServingRouteRanking.Holder] = []
        for peer in live {
            let (record, profile) = plane.profile(of: peer)
            guard let profile else { continue }
            let held = Set(profile.modelHashes + profile.adapterHashes)
            guard inputs.allSatisfy({ held.contains($0.bytes) }) else { continue }
            candidates.append(ServingRouteRanking.Holder(
                id: peer.hex, memoryGBPerSecond: profile.memoryGBPerSecond, ternaryGOPS: record?.gops ?? profile.ternaryGOPS,
                loadPercent: Int(profile.loadPercent),
                revokedJobs: Int((try? plane.ledger.credit(nodeID: peer.hex))??.jobsRevoked ?? 0),
                recentFailures: failed[peer]?.count ?? 0))
        }
        let order = ServingRouteRanking.order(candidates)
        return order.compactMap { id in live.first { $0.hex == id } }
    }

    /// Starts `options` on the best holder of `model`; returns once a worker accepted it, or
    /// nil when no live peer holds the model. Throws the OpenAI error the client gets when
    /// the request is bad (400) or no holder would take it (429 when all are busy, else 503).
    func start(model: String, options: CompletionJobOptions) async throws -> LocalServing.Run? {
        guard let inputs = Self.blobIDs(of: model) else { return nil }
        let holders = await holders(of: inputs)
        guard !holders.isEmpty else { return nil }
        guard options.encoded().count <= TaskWireLimits.maxOptionsBytes else {
            throw OpenAIError(.contentTooLarge, message: "This prompt is too large to forward over the mesh "
                              + "(at most \(TaskWireLimits.maxOptionsBytes >> 10) KiB); send it to a node that holds the model.",
                              code: "prompt_too_large")
        }
        metrics.meshForwarded.increment()
        let (events, continuation) = AsyncStream.makeStream(of: ServingEvent.self, bufferingPolicy: .unbounded)
        let (decided, decide) = AsyncStream.makeStream(of: Result<NodeID, OpenAIError>.self, bufferingPolicy: .bufferingNewest(1))
        let driver = Task {
            await self.drive(inputs: inputs, holders: holders, options: options, events: continuation, decide: decide)
        }
        var first: Result<NodeID, OpenAIError>?
        for await result in decided {
            first = result
            break
        }
        switch first {
        case .success(let worker)?:
            return LocalServing.Run(events: events, worker: worker) {
                driver.cancel()
                continuation.finish()
            }
        case .failure(let error)?:
            throw error
        case nil:
            // The client went away while a worker was being found.
            driver.cancel()
            throw CancellationError()
        }
    }

    /// Tries the holders in order until one finishes the completion.
    private func drive(inputs: [BlobID], holders: [NodeID], options: CompletionJobOptions,
                       events: AsyncStream<ServingEvent>.Continuation,
                       decide: AsyncStream<Result<NodeID, OpenAIError>>.Continuation) async {
        let streamed = Mutex<[Int32]>([])
        let accepted = Mutex(false)
        @Sendable func accept(_ worker: NodeID) {
            let first = accepted.withLock { value in defer { value = true }; return !value }
            if first {
                decide.yield(.success(worker))
                decide.finish()
            }
        }
        var lastFailure: (any Error)?
        for (attempt, worker) in holders.enumerated() {
            var attemptOptions = options
            attemptOptions.resumedTokens = options.resumedTokens + streamed.withLock { $0 }
            if attempt > 0 { metrics.meshFailovers.increment() }
            do {
                let result = try await plane.runCompletion(
                    on: worker, inputs: inputs, options: attemptOptions, onAccepted: { accept(worker) },
                    onToken: { token, text, logprobs in
                        streamed.withLock { $0.append(token) }
                        events.yield(.token(token, text: text, logprobs: logprobs))
                    })
                events.yield(.finished(ServingOutcome(
                    finishReason: Self.finishReason(result.finish), promptTokens: Int(result.promptTokens),
                    completionTokens: Int(result.completionTokens), trailingText: result.trailingText)))
                events.finish()
                return
            } catch {
                if Task.isCancelled { return }
                let failure = error as? TaskFailure
                if failure?.code == .badRequest, !accepted.withLock({ $0 }) {
                    // The request itself is bad (a prompt over the context, a template the
                    // model lacks): every holder would say the same.
                    decide.yield(.failure(OpenAIError.invalidValue("messages", failure?.message ?? "bad request")))
                    decide.finish()
                    events.finish()
                    return
                }
                failures.withLock { $0[worker] = (($0[worker]?.count ?? 0) + 1, ContinuousClock.now) }
                logger.notice("forwarded completion failed; trying the next holder", metadata: [
                    "worker": "\(worker.fingerprint)", "tokens": "\(streamed.withLock { $0.count })", "error": "\(error)"])
                lastFailure = error
            }
        }
        let busy = (lastFailure as? TaskFailure)?.code == .busy
        if !accepted.withLock({ $0 }) {
            decide.yield(.failure(busy ? OpenAIError.queueFull(retryAfterSeconds: 1) : OpenAIError(
                .serviceUnavailable, message: "No peer holding this model could serve the request: \(OpenAIError.clipped("\(lastFailure.map { "\($0)" } ?? "none")"))",
                type: "server_error", param: "model", code: "model_unavailable")))
            decide.finish()
        } else {
            events.yield(.failed("every peer holding the model failed: \(lastFailure.map { "\($0)" } ?? "")"))
        }
        events.finish()
    }

    static func finishReason(_ finish: CompletionJobResult.Finish) -> FinishReason {
        switch finish {
        case .endOfGeneration: .endOfGeneration
        case .stopString: .stopString
        case .length: .length
        }
    }
}
