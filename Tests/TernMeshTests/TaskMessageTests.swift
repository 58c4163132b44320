import Testing
import TernMesh

/// The `task/1` and `blob/1` messages: canonical round trips and hard limits on hostile input.
@Suite struct TaskMessageTests {
    let blob = BlobID(bytes: [UInt8](repeating: 0xAB, count: 32))!
    let node = NodeID(bytes: [UInt8](repeating: 3, count: 32))!

    @Test func everyMessageRoundTrips() throws {
        let options = GenerateOptions(prompt: "Hello ✓", maxTokens: 8, temperature: 0, seed: 1, chat: false)
        let job = JobRequest(jobID: JobRequest.newJobID(), kind: .generate, inputs: [blob], options: options.encoded(), holders: [node])
        #expect(try GenerateOptions.decode(options.encoded()) == options)
        for request in [TaskRequest.inventory(requestID: 1, blobs: [blob]), .submit(requestID: 2, job: job),
                        .accept(requestID: 3, receipt: [1, 2]), .reject(requestID: 4, reason: "no"), .cancel(requestID: 5)] {
            #expect(try TaskRequest.decode(request.encoded()) == request)
        }
        for reply in [TaskReply.inventory(requestID: 1, holdings: [BlobHolding(blob: blob, chunksHeld: 2, chunkCount: 3)]),
                      .accepted(requestID: 2), .progress(requestID: 2, text: " Paris", done: 1, loss: nil),
                      .progress(requestID: 2, text: "", done: 7, loss: 1.25), .result(requestID: 2, receipt: [9], output: [8]),
                      .token(requestID: 2, token: 42, text: " Par", logprobs: []),
                      .token(requestID: 2, token: 0, text: "", logprobs: [LogprobEntry(token: 0, logprob: -.infinity, bytes: [0xC3]),
                                                                          LogprobEntry(token: 7, logprob: 0, bytes: [])]),
                      .acknowledged(requestID: 2), .failure(requestID: 2, TaskFailure(.busy, "busy: 1 of 1 jobs"))] {
            #expect(try TaskReply.decode(reply.encoded()) == reply)
        }
        for request in [BlobRequest.manifest(requestID: 1, blob: blob), .chunk(requestID: 2, blob: blob, index: 77)] {
            #expect(try BlobRequest.decode(request.encoded()) == request)
        }
        let chunk = BlobReply.chunk(requestID: 2, index: 77, bytes: [UInt8](repeating: 1, count: 1000))
        #expect(try BlobReply.decode(chunk.encoded(), maxChunkBytes: 1000) == chunk)
    }

    @Test func completionJobsRoundTripAndRefuseWhatIsOutOfRange() throws {
        let chat = CompletionJobOptions(prompt: .chat([.init(role: "system", content: "Be brief."), .init(role: "user", content: "Hé?")]),
                                        maxTokens: 32, temperature: 0.7, topP: 0.95, seed: 9, stops: ["\n\n"], resumedTokens: [1, 2, 3],
                                        logprobs: 5)
        let text = CompletionJobOptions(prompt: .text("Once upon"), maxTokens: 0, temperature: 0, topP: 1, seed: 0)
        for options in [chat, text] { #expect(try CompletionJobOptions.decode(options.encoded()) == options) }
        for result in [CompletionJobResult(finish: .stopString, promptTokens: 12, completionTokens: 3, trailingText: ""),
                       CompletionJobResult(finish: .endOfGeneration, promptTokens: 1, completionTokens: 1, trailingText: "€")] {
            #expect(try CompletionJobResult.decode(result.encoded()) == result)
        }
        var bad = chat
        bad.temperature = 2.5
        #expect(throws: WireError.self) { try CompletionJobOptions.decode(bad.encoded()) }
        bad = chat
        bad.topP = .nan
        #expect(throws: WireError.self) { try CompletionJobOptions.decode(bad.encoded()) }
        bad = chat
        bad.resumedTokens = [-1]
        #expect(throws: WireError.self) { try CompletionJobOptions.decode(bad.encoded()) }
        bad = chat
        bad.maxTokens = 2
        #expect(throws: WireError.self, "more resumed tokens than the budget") { try CompletionJobOptions.decode(bad.encoded()) }
        bad = chat
        bad.maxTokens = TaskWireLimits.maxGenerateTokens + 1
        #expect(throws: WireError.self) { try CompletionJobOptions.decode(bad.encoded()) }
        bad = chat
        bad.prompt = .chat([.init(role: String(repeating: "r", count: CompletionJobOptions.maxRoleBytes + 1), content: "x")])
        #expect(throws: WireError.self) { try CompletionJobOptions.decode(bad.encoded()) }
        bad = text
        bad.prompt = .text(String(repeating: "a", count: TaskWireLimits.maxOptionsBytes))
        #expect(throws: WireError.self, "options over the job limit") { try CompletionJobOptions.decode(bad.encoded()) }
        bad = text
        bad.logprobs = 21
        #expect(throws: WireError.self) { try CompletionJobOptions.decode(bad.encoded()) }
        #expect(throws: WireError.self) { try TaskReply.decode(TaskReply.token(requestID: 1, token: -5, text: "", logprobs: []).encoded()) }
        for logprob in [Float.nan, 0.5] {
            let reply = TaskReply.token(requestID: 1, token: 5, text: "", logprobs: [LogprobEntry(token: 5, logprob: logprob, bytes: [])])
            #expect(throws: WireError.self) { try TaskReply.decode(reply.encoded()) }
        }
    }

    @Test func aChunkLargerThanAnnouncedIsRefusedBeforeItIsCopied() {
        let chunk = BlobReply.chunk(requestID: 2, index: 0, bytes: [UInt8](repeating: 1, count: 1001))
        #expect(throws: WireError.tooLong(field: "chunk", length: 1001, limit: 1000)) {
            try BlobReply.decode(chunk.encoded(), maxChunkBytes: 1000)
        }
    }

    @Test func jobsOverTheLimitsAreRefused() throws {
        let tooMany = GenerateOptions(prompt: "x", maxTokens: TaskWireLimits.maxGenerateTokens + 1)
        #expect(throws: WireError.self) { try GenerateOptions.decode(tooMany.encoded()) }
        let hugePrompt = GenerateOptions(prompt: String(repeating: "a", count: TaskWireLimits.maxPromptBytes + 1), maxTokens: 1)
        #expect(throws: WireError.self) { try GenerateOptions.decode(hugePrompt.encoded()) }
        let inputs = [BlobID](repeating: blob, count: TaskWireLimits.maxBlobsPerMessage + 1)
        let job = JobRequest(jobID: JobRequest.newJobID(), kind: .generate, inputs: inputs, options: [], holders: [])
        #expect(throws: WireError.self) { try TaskRequest.decode(TaskRequest.submit(requestID: 1, job: job).encoded()) }
        var nan = GenerateOptions(prompt: "x", maxTokens: 1)
        nan.temperature = .nan
        #expect(throws: WireError.self) { try GenerateOptions.decode(nan.encoded()) }
    }

    @Test func truncatedAndPaddedFramesAreRefusedNeverTrapped() {
        let frames = TaskStreamFuzzTarget().samples
        for frame in frames {
            for length in 0..<frame.count {
                let prefix = Array(frame.prefix(length))
                #expect((try? TaskRequest.decode(prefix)) == nil)
                #expect((try? TaskReply.decode(prefix)) == nil)
                #expect((try? BlobReply.decode(prefix, maxChunkBytes: 1 << 20)) == nil)
            }
            #expect(throws: WireError.self) { try TaskReply.decode(frame + [0]) }
        }
    }

    @Test func fuzzingFindsNoNonCanonicalAcceptance() {
        var target = TaskStreamFuzzTarget()
        for sample in target.samples {
            #expect({ if case .accepted = target.consume(sample) { true } else { false } }(), "sample rejected")
        }
    }

    @Test func heldChunkBitmapsRoundTrip() {
        let held = (0..<19).map { $0 % 3 == 0 }
        #expect(HeldChunks.decode(HeldChunks.encode(held), count: 19) == held)
        #expect(HeldChunks.decode([], count: 4) == [false, false, false, false])
    }
}
