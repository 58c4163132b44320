import Foundation
import TernMesh

/// `tern fuzz openai-request`: request bodies of `/v1/chat/completions` and `/v1/completions`
/// through the decoders and checks the API runs on them before any model work: the JSON
/// shapes, `Plan` (sampling, limits, stops), the logprob limits, and the conversion to a
/// forwarded `complete` job.
///
/// Invariant: a request the API accepts for forwarding is one every worker accepts — its
/// job options, when within the frame limit, decode to exactly what was sent — so a valid
/// request is never refused by a peer for what the requester let through.
public struct OpenAIRequestFuzzTarget: FuzzTarget {
    public let name = "openai-request"
    public let samples: [[UInt8]]

    public init() {
        samples = [
            #"{"model": "smol", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.7, "top_p": 0.9, "max_tokens": 16, "stop": ["\n"], "seed": 3, "stream": true, "stream_options": {"include_usage": true}, "logprobs": true, "top_logprobs": 2}"#,
            #"{"model": "ab:cd", "messages": [{"role": "system", "content": [{"type": "text", "text": "Be brief."}]}, {"role": "user", "content": null}], "max_completion_tokens": 4, "n": 1}"#,
            #"{"model": "smol", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0, "stop": "END", "logprobs": 1}"#,
            #"{"model": "smol", "prompt": ["one"], "echo": false, "suffix": ""}"#,
        ].map { Array($0.utf8) }
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        let data = Data(input)
        let decoder = JSONDecoder()
        if let chat = try? decoder.decode(ChatCompletionRequest.self, from: data) {
            do {
                var plan = try LocalServing.Plan(chat.parameters, defaultMaxTokens: 256)
                if let k = chat.topLogprobs {
                    guard chat.logprobs == true else { return .rejected("topLogprobsWithoutLogprobs") }
                    try LocalServing.Plan.checkLogprobs(k, param: "top_logprobs")
                }
                plan.logprobs = chat.logprobs == true ? chat.topLogprobs ?? 0 : nil
                let turns = chat.messages.map { CompletionJobOptions.ChatTurn(role: $0.role, content: $0.content) }
                return Self.checkForwarded(try plan.forwarded(.chat(turns)), label: "chat")
            } catch {
                return .rejected("chatPlan")
            }
        }
        if let text = try? decoder.decode(TextCompletionRequest.self, from: data) {
            do {
                var plan = try LocalServing.Plan(text.parameters, defaultMaxTokens: 256)
                if let k = text.logprobs { try LocalServing.Plan.checkLogprobs(k, param: "logprobs") }
                plan.logprobs = text.logprobs
                guard let prompt = text.prompt.strings.first else { return .rejected("noPrompt") }
                return Self.checkForwarded(try plan.forwarded(.text(prompt)), label: "text")
            } catch {
                return .rejected("textPlan")
            }
        }
        return .rejected("notARequest")
    }

    static func checkForwarded(_ options: CompletionJobOptions, label: String) -> FuzzVerdict {
        let bytes = options.encoded()
        guard bytes.count <= TaskWireLimits.maxOptionsBytes else { return .accepted(label + "TooLargeToForward") }
        guard let decoded = try? CompletionJobOptions.decode(bytes) else {
            return .violation("the API accepted a \(label) request that a worker's options decoder refuses")
        }
        guard decoded == options else { return .violation("forwarded \(label) options change on the wire") }
        return .accepted(label)
    }
}
