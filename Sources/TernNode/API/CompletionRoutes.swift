import Foundation
import Hummingbird
import NIOCore
import TernMesh
import TernModel

extension LocalServing {
    /// Adds `POST /v1/chat/completions` and `POST /v1/completions` (pass as
    /// `APIServer.application(… routes:)`). A model this node does not hold is forwarded
    /// through `mesh` to a peer that does.
    public func addRoutes(to router: APIRouter, mesh: MeshCompletions? = nil) {
        router.post("/v1/chat/completions") { request, context in
            self.countRequest()
            let body = try await request.decodeOpenAIJSON(ChatCompletionRequest.self, context: context)
            guard !body.messages.isEmpty else { throw OpenAIError.invalidValue("messages", "messages must not be empty.") }
            var plan = try Plan(body.parameters, defaultMaxTokens: self.settings.defaultMaxTokens)
            if let k = body.topLogprobs {
                guard body.logprobs == true else {
                    throw OpenAIError.invalidValue("top_logprobs", "top_logprobs needs logprobs set to true.")
                }
                try Plan.checkLogprobs(k, param: "top_logprobs")
            }
            plan.logprobs = body.logprobs == true ? body.topLogprobs ?? 0 : nil
            guard let loaded = try await self.engine(for: plan.model) else {
                let turns = body.messages.map { CompletionJobOptions.ChatTurn(role: $0.role, content: $0.content) }
                return try await self.respond(plan: plan, run: self.forward(plan, .chat(turns), through: mesh), chat: true)
            }
            let template: ChatTemplate
            switch loaded.template {
            case .success(let found): template = found
            case .failure(let failure):
                throw OpenAIError.invalidValue("model", "This model has no chat template this node can use (\(failure)); use /v1/completions.")
            }
            let messages = body.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            let tokenizer = loaded.tokenizer
            let prompt = try await Self.offPool {
                tokenizer.encode(template.render(messages, addGenerationPrompt: true))
            }
            let run = try self.submit(plan.request(prompt), to: loaded, promptParam: "messages")
            return try await self.respond(plan: plan, run: run, chat: true)
        }
        router.post("/v1/completions") { request, context in
            self.countRequest()
            let body = try await request.decodeOpenAIJSON(TextCompletionRequest.self, context: context)
            if body.echo == true { throw OpenAIError.invalidValue("echo", "echo is not supported yet.") }
            if let suffix = body.suffix, !suffix.isEmpty { throw OpenAIError.invalidValue("suffix", "suffix is not supported.") }
            let prompts = body.prompt.strings
            guard prompts.count == 1 else {
                throw OpenAIError.invalidValue("prompt", "Send one prompt per request (got \(prompts.count)).")
            }
            var plan = try Plan(body.parameters, defaultMaxTokens: self.settings.defaultMaxTokens)
            if let k = body.logprobs { try Plan.checkLogprobs(k, param: "logprobs") }
            plan.logprobs = body.logprobs
            let text = prompts[0]
            guard let loaded = try await self.engine(for: plan.model) else {
                return try await self.respond(plan: plan, run: self.forward(plan, .text(text), through: mesh), chat: false)
            }
            let tokenizer = loaded.tokenizer
            let prompt = try await Self.offPool { tokenizer.encode(text) }
            let run = try self.submit(plan.request(prompt), to: loaded, promptParam: "prompt")
            return try await self.respond(plan: plan, run: run, chat: false)
        }
    }

    /// Runs a request for a model this node does not hold on a peer that does; 404 when no
    /// live peer holds it.
    private func forward(_ plan: Plan, _ prompt: CompletionJobOptions.Prompt, through mesh: MeshCompletions?) async throws -> Run {
        guard let mesh, let run = try await mesh.start(model: plan.model, options: try plan.forwarded(prompt)) else {
            throw OpenAIError.modelNotFound(plan.model)
        }
        return run
    }

    /// What a request asks for, checked.
    struct Plan: Sendable {
        let model: String
        let sampling: SamplingConfiguration
        let maxTokens: Int
        let stops: [String]
        let stream: Bool
        let includeUsage: Bool
        /// nil: none; k: each token's log-probability and the k most likely ones'.
        var logprobs: Int?

        init(_ p: SamplingParameters, defaultMaxTokens: Int) throws {
            model = p.model
            if let n = p.n, n != 1 { throw OpenAIError.invalidValue("n", "Only n = 1 is supported (got \(n)).") }
            let temperature = p.temperature ?? 1
            guard temperature.isFinite, (0...2).contains(temperature) else {
                throw OpenAIError.invalidValue("temperature", "temperature must be between 0 and 2 (got \(temperature)).")
            }
            let topP = p.topP ?? 1
            guard topP.isFinite, (0...1).contains(topP) else {
                throw OpenAIError.invalidValue("top_p", "top_p must be between 0 and 1 (got \(topP)).")
            }
            let (param, limit) = p.maxCompletionTokens.map { ("max_completion_tokens", $0) } ?? ("max_tokens", p.maxTokens ?? defaultMaxTokens)
            guard limit >= 0 else { throw OpenAIError.invalidValue(param, "\(param) must not be negative (got \(limit)).") }
            maxTokens = limit
            let stops = (p.stop?.strings ?? []).filter { !$0.isEmpty }
            guard stops.count <= 16 else { throw OpenAIError.invalidValue("stop", "At most 16 stop sequences (got \(stops.count)).") }
            self.stops = stops
            sampling = LocalServing.sampling(temperature: Float(temperature), topP: Float(topP),
                                             seed: p.seed.map { UInt64(bitPattern: $0) } ?? UInt64.random(in: 0...UInt64.max))
            stream = p.stream ?? false
            includeUsage = p.streamOptions?.includeUsage ?? false
        }

        static func checkLogprobs(_ k: Int, param: String) throws {
            guard (0...TokenLogprobs.maxTop).contains(k) else {
                throw OpenAIError.invalidValue(param, "\(param) must be between 0 and \(TokenLogprobs.maxTop) (got \(k)).")
            }
        }

        func request(_ prompt: [Int32]) -> ServingRequest {
            ServingRequest(prompt: prompt, sampling: sampling, maxTokens: maxTokens, stopStrings: stops, logprobs: logprobs)
        }

        /// The request as a `complete` job's options, within the wire's limits.
        func forwarded(_ prompt: CompletionJobOptions.Prompt) throws -> CompletionJobOptions {
            if case .chat(let turns) = prompt, let long = turns.first(where: { $0.role.utf8.count > CompletionJobOptions.maxRoleBytes }) {
                throw OpenAIError.invalidValue("messages", "A role name is at most \(CompletionJobOptions.maxRoleBytes) bytes (got \(long.role.utf8.count)).")
            }
            if case .chat(let turns) = prompt, turns.count > CompletionJobOptions.maxTurns {
                throw OpenAIError.invalidValue("messages", "At most \(CompletionJobOptions.maxTurns) messages (got \(turns.count)).")
            }
            if let long = stops.first(where: { $0.utf8.count > CompletionJobOptions.maxStopBytes }) {
                throw OpenAIError.invalidValue("stop", "A stop sequence is at most \(CompletionJobOptions.maxStopBytes) bytes (got \(long.utf8.count)).")
            }
            return CompletionJobOptions(
                prompt: prompt, maxTokens: UInt32(min(maxTokens, Int(TaskWireLimits.maxGenerateTokens))),
                temperature: sampling.temperature, topP: sampling.topP, seed: sampling.seed, stops: stops,
                logprobs: logprobs.map { UInt8($0) })
        }
    }

    /// Names the peer that took a forwarded request (its fingerprint).
    static let workerHeader = "X-Tern-Worker"

    /// OpenAI's sampling: temperature and nucleus only (0 is greedy, as `tern run --temp 0`).
    static func sampling(temperature: Float, topP: Float, seed: UInt64) -> SamplingConfiguration {
        var sampling = SamplingConfiguration()
        sampling.temperature = temperature
        sampling.topP = topP
        sampling.topK = 0
        sampling.minP = 0
        sampling.repetitionPenalty = 1
        sampling.seed = seed
        return sampling
    }

    private static func finishReason(_ reason: FinishReason) -> String { reason == .length ? "length" : "stop" }

    private func respond(plan: Plan, run: Run, chat: Bool) async throws -> Response {
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let created = Int(Date().timeIntervalSince1970)
        let object = chat ? (plan.stream ? "chat.completion.chunk" : "chat.completion") : "text_completion"
        @Sendable func body(_ choice: CompletionBody.Choice?, usage: CompletionUsage? = nil) -> CompletionBody {
            CompletionBody(id: id, object: object, created: created, model: plan.model, choices: choice.map { [$0] } ?? [],
                           usage: usage, usageKeyAlways: plan.stream && plan.includeUsage)
        }

        guard plan.stream else {
            var text = ""
            var outcome: ServingOutcome?
            var logprobs = LogprobAccumulator(chat: chat)
            try await withTaskCancellationHandler {
                for await event in run.events {
                    switch event {
                    case .token(_, let piece, let tokenLogprobs):
                        if let tokenLogprobs { logprobs.add(tokenLogprobs, offset: text.unicodeScalars.count) }
                        text += piece
                    case .finished(let finished):
                        run.markEnded()
                        text += finished.trailingText
                        outcome = finished
                    case .failed(let reason):
                        run.markEnded()
                        throw OpenAIError(.internalServerError, message: "Generation failed: \(OpenAIError.clipped(reason))",
                                          type: "server_error", code: "generation_failed")
                    }
                }
            } onCancel: {
                run.cancel()
            }
            guard let outcome else { throw OpenAIError.internalError }
            var choice = CompletionBody.Choice(logprobs: logprobs.take(), finishReason: Self.finishReason(outcome.finishReason))
            if chat { choice.message = ["role": "assistant", "content": text] } else { choice.text = text }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(body(choice, usage: CompletionUsage(prompt: outcome.promptTokens,
                                                                                completion: outcome.completionTokens)))
            var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
            if let worker = run.worker { headers[.init(Self.workerHeader)!] = worker.fingerprint }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }

        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        if let worker = run.worker { headers[.init(Self.workerHeader)!] = worker.fingerprint }
        @Sendable func event(_ value: CompletionBody) throws -> ByteBuffer {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var data = Data("data: ".utf8)
            data.append(try encoder.encode(value))
            data.append(contentsOf: Array("\n\n".utf8))
            return ByteBuffer(bytes: data)
        }
        @Sendable func piece(_ text: String, _ logprobs: ChoiceLogprobs?) -> CompletionBody.Choice {
            var choice = chat ? CompletionBody.Choice(delta: ["content": text]) : CompletionBody.Choice(text: text)
            choice.logprobs = logprobs
            return choice
        }
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await self.streaming {
                do {
                    try await withTaskCancellationHandler {
                        if chat { try await writer.write(try event(body(CompletionBody.Choice(delta: ["role": "assistant", "content": ""])))) }
                        var logprobs = LogprobAccumulator(chat: chat)
                        var sent = 0
                        for await next in run.events {
                            switch next {
                            case .token(_, let text, let tokenLogprobs):
                                if let tokenLogprobs { logprobs.add(tokenLogprobs, offset: sent) }
                                if !text.isEmpty {
                                    try await writer.write(try event(body(piece(text, logprobs.take()))))
                                    sent += text.unicodeScalars.count
                                }
                            case .finished(let outcome):
                                run.markEnded()
                                if !outcome.trailingText.isEmpty {
                                    try await writer.write(try event(body(piece(outcome.trailingText, logprobs.take()))))
                                }
                                var last = chat ? CompletionBody.Choice(delta: [:]) : CompletionBody.Choice(text: "")
                                last.logprobs = logprobs.take()
                                last.finishReason = Self.finishReason(outcome.finishReason)
                                try await writer.write(try event(body(last)))
                                if plan.includeUsage {
                                    try await writer.write(try event(body(nil, usage: CompletionUsage(
                                        prompt: outcome.promptTokens, completion: outcome.completionTokens))))
                                }
                                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                            case .failed:
                                run.markEnded()
                                let failure = OpenAIError(.internalServerError, message: "Generation failed.", type: "server_error",
                                                          code: "generation_failed")
                                try await writer.write(ByteBuffer(string: "data: "))
                                try await writer.write(ByteBuffer(bytes: failure.body))
                                try await writer.write(ByteBuffer(string: "\n\n"))
                            }
                        }
                    } onCancel: {
                        run.cancel()
                    }
                } catch {
                    // The client went away: free the request's blocks at once.
                    run.cancel()
                    throw error
                }
                run.cancel()
                try await writer.finish(nil)
            }
        })
    }
}
