import Foundation
import TernMesh
import TernModel

extension LocalServing {
    /// Starts a completion a peer forwarded over `task/1` (a `complete` job) on `model` (the
    /// job's input blob ids: `BASE` or `BASE:ADAPTER`). The prompt is rendered with this
    /// node's copy of the model's chat template and tokenized here; a resumed request replays
    /// the tokens another worker already streamed. Throws the `TaskFailure` the peer gets.
    func startForwarded(model: String, options: CompletionJobOptions) async throws -> Run {
        do {
            guard let loaded = try await engine(for: model) else {
                throw TaskFailure(.notFound, "this node does not hold the model \(model.prefix(16))")
            }
            let tokenizer = loaded.tokenizer
            let prompt: [Int32]
            switch options.prompt {
            case .text(let text):
                prompt = try await Self.offPool { tokenizer.encode(text) }
            case .chat(let turns):
                guard case .success(let template) = loaded.template else {
                    throw TaskFailure(.badRequest, "this model has no chat template this node can use; use /v1/completions")
                }
                let messages = turns.map { ChatMessage(role: $0.role, content: $0.content) }
                prompt = try await Self.offPool { tokenizer.encode(template.render(messages, addGenerationPrompt: true)) }
            }
            let request = ServingRequest(
                prompt: prompt, sampling: Self.sampling(temperature: options.temperature, topP: options.topP, seed: options.seed),
                maxTokens: Int(options.maxTokens), stopStrings: options.stops, resumedTokens: options.resumedTokens,
                logprobs: options.logprobs.map(Int.init))
            return try submit(request, to: loaded, promptParam: "prompt")
        } catch let error as OpenAIError {
            throw TaskFailure(error)
        }
    }
}

extension TaskFailure {
    /// What a peer is told when this node's API would have answered `error`: a full queue is
    /// `busy` (try another holder), a request the engine refuses is `badRequest`.
    init(_ error: OpenAIError) {
        switch error.status.code {
        case 404: self.init(.notFound, error.message)
        case 429: self.init(.busy, error.message)
        case 400, 413: self.init(.badRequest, error.message)
        default: self.init(.internalError, error.message)
        }
    }
}
