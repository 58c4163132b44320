/// `tern fuzz task-stream`: frames of the `task/1` and `blob/1` streams through every
/// decoder a worker or a fetcher runs on them (requests, replies, generate and completion options, completion results).
///
/// Invariant: the encoding is canonical, so whatever a decoder accepts re-encodes to exactly
/// the input.
public struct TaskStreamFuzzTarget: FuzzTarget {
    public let name = "task-stream"
    public let samples: [[UInt8]]

    public init() {
        let blob = BlobID(bytes: (0..<32).map { UInt8($0) })!
        let node = NodeID(bytes: [UInt8](repeating: 7, count: 32))!
        let options = GenerateOptions(prompt: "The capital of France is", maxTokens: 16, temperature: 0.7, seed: 42, chat: true)
        let job = JobRequest(jobID: [UInt8](repeating: 1, count: 16), kind: .generate, inputs: [blob],
                             options: options.encoded(), holders: [node])
        let completion = CompletionJobOptions(
            prompt: .chat([.init(role: "user", content: "Hi")]), maxTokens: 8, temperature: 0.8, topP: 0.9, seed: 7,
            stops: ["\n"], resumedTokens: [12, 34], logprobs: 2)
        samples = [
            BlobRequest.manifest(requestID: 1, blob: blob).encoded(),
            BlobRequest.chunk(requestID: 2, blob: blob, index: 3).encoded(),
            BlobReply.manifest(requestID: 1, manifest: [1, 2, 3], held: [0xFF]).encoded(),
            BlobReply.chunk(requestID: 2, index: 3, bytes: [UInt8](repeating: 9, count: 64)).encoded(),
            BlobReply.failure(requestID: 3, TaskFailure(.notFound, "gone")).encoded(),
            TaskRequest.inventory(requestID: 1, blobs: [blob]).encoded(),
            TaskRequest.submit(requestID: 2, job: job).encoded(),
            TaskRequest.accept(requestID: 2, receipt: [5, 6]).encoded(),
            TaskRequest.reject(requestID: 2, reason: "bad").encoded(),
            TaskRequest.cancel(requestID: 2).encoded(),
            TaskReply.inventory(requestID: 1, holdings: [BlobHolding(blob: blob, chunksHeld: 1, chunkCount: 2)]).encoded(),
            TaskReply.progress(requestID: 2, text: " Paris", done: 1, loss: 2.5).encoded(),
            TaskReply.result(requestID: 2, receipt: [1], output: [2]).encoded(),
            TaskReply.failure(requestID: 2, TaskFailure(.busy, "busy")).encoded(),
            TaskReply.token(requestID: 2, token: 1234, text: " Paris", logprobs: []).encoded(),
            TaskReply.token(requestID: 2, token: 5, text: "", logprobs: [
                LogprobEntry(token: 5, logprob: -0.5, bytes: [0xE2]), LogprobEntry(token: 9, logprob: -1.25, bytes: [0x41]),
            ]).encoded(),
            options.encoded(),
            completion.encoded(),
            CompletionJobResult(finish: .length, promptTokens: 5, completionTokens: 8, trailingText: "é").encoded(),
        ]
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        var accepted: [String] = []
        if let message = try? BlobRequest.decode(input) {
            guard message.encoded() == input else { return .violation("a blob request does not re-encode to its input") }
            accepted.append("blobRequest")
        }
        if let message = try? BlobReply.decode(input, maxChunkBytes: 1 << 20) {
            guard message.encoded() == input else { return .violation("a blob reply does not re-encode to its input") }
            accepted.append("blobReply")
        }
        if let message = try? TaskRequest.decode(input) {
            guard message.encoded() == input else { return .violation("a task request does not re-encode to its input") }
            accepted.append("taskRequest")
        }
        if let message = try? TaskReply.decode(input) {
            guard message.encoded() == input else { return .violation("a task reply does not re-encode to its input") }
            accepted.append("taskReply")
        }
        if let options = try? GenerateOptions.decode(input) {
            guard options.encoded() == input else { return .violation("generate options do not re-encode to their input") }
            accepted.append("generateOptions")
        }
        if let options = try? CompletionJobOptions.decode(input) {
            guard options.encoded() == input else { return .violation("completion options do not re-encode to their input") }
            accepted.append("completionOptions")
        }
        if let result = try? CompletionJobResult.decode(input) {
            guard result.encoded() == input else { return .violation("a completion result does not re-encode to its input") }
            accepted.append("completionResult")
        }
        return accepted.isEmpty ? .rejected("undecodable") : .accepted(accepted.joined(separator: "+"))
    }
}
