import Foundation
import Testing
import TernMesh
import TernNode

/// The acceptance, with the official Python `openai` package: three real daemons,
/// only nodes 1 and 2 holding the demo model, every request sent to node 0 — which forwards
/// it over `task/1` to a holder. Through node 0 the client lists the models, gets a
/// non-streaming and a streaming chat completion (temperature 0, equal to
/// `tern run --chat --temp 0`), then a seeded sampled stream during which the worker serving
/// it is killed: the stream completes with exactly the text of the same request run
/// without a failure.
@Suite(.serialized) struct OpenAIClientProcessTests {
    static let script = """
        import json, os, signal, sys, time, urllib.request
        from openai import OpenAI
        base, model, prompt, pids = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
        client = OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=120)
        deadline = time.time() + 120
        while True:
            listed = {m.id: m.owned_by for m in client.models.list().data}
            if listed.get(model) == "mesh": break  # both holders' profiles have arrived
            assert time.time() < deadline, listed
            time.sleep(0.5)
        messages = [{"role": "user", "content": prompt}]
        reply = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=16)
        choice = reply.choices[0]
        assert reply.object == "chat.completion" and choice.message.role == "assistant", reply
        assert reply.usage.completion_tokens > 0 and reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
        streamed, reasons, usage = "", [], None
        for chunk in client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=16,
                                                    stream=True, stream_options={"include_usage": True}):
            assert chunk.object == "chat.completion.chunk", chunk
            if chunk.usage is not None: usage = chunk.usage
            for c in chunk.choices:
                streamed += c.delta.content or ""
                if c.finish_reason: reasons.append(c.finish_reason)
        assert usage is not None and usage.completion_tokens == reply.usage.completion_tokens, usage
        scored = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=4,
                                                logprobs=True, top_logprobs=2)
        entries = scored.choices[0].logprobs.content
        assert len(entries) == scored.usage.completion_tokens, scored
        assert all(len(e.top_logprobs) == 2 and e.top_logprobs[0].token == e.token and e.logprob <= 0 for e in entries), entries
        try:
            client.chat.completions.create(model="no-such-model", messages=messages)
            raise AssertionError("no error for an unknown model")
        except Exception as error:
            assert type(error).__name__ == "NotFoundError", repr(error)
        try:
            client.chat.completions.create(model=model, messages=messages, max_tokens=-1)
            raise AssertionError("no error for negative max_tokens")
        except Exception as error:
            assert type(error).__name__ == "BadRequestError", repr(error)
        try:  # over the holders' context: the worker's refusal reaches the client as a 400
            client.completions.create(model=model, prompt="word " * 6000, max_tokens=4)
            raise AssertionError("no error for a prompt over the context")
        except Exception as error:
            assert type(error).__name__ == "BadRequestError", repr(error)

        story = [{"role": "user", "content": "Tell me a long story about a dragon who learns to paint."}]
        sampled = dict(model=model, messages=story, temperature=0.8, seed=11, max_tokens=40, stream=True)
        def collect(kill_after=None):
            text, pieces, finish, worker, killed = "", 0, None, None, None
            with client.chat.completions.with_streaming_response.create(**sampled) as response:
                worker = response.headers.get("x-tern-worker")
                for chunk in response.parse():
                    for c in chunk.choices:
                        if c.delta.content:
                            text += c.delta.content
                            pieces += 1
                        if c.finish_reason: finish = c.finish_reason
                    if kill_after is not None and killed is None and pieces >= kill_after:
                        os.kill(pids[worker], signal.SIGKILL)
                        killed = pieces
            return text, pieces, finish, worker, killed
        whole, whole_pieces, whole_finish, first_worker, _ = collect()
        assert first_worker in pids, (first_worker, pids)
        failed_over, pieces, finish, worker, killed = collect(kill_after=6)
        assert killed is not None and pieces > killed, (pieces, killed, whole_pieces)
        with urllib.request.urlopen(base + "/metrics") as response:
            metrics = response.read().decode()
        failovers = [line for line in metrics.splitlines() if line.startswith("tern_mesh_failovers_total")]
        print(json.dumps({"text": choice.message.content, "streamed": streamed, "finish": choice.finish_reason,
                          "stream_finish": reasons, "whole": whole, "failed_over": failed_over,
                          "finishes": [whole_finish, finish], "killed": worker, "failovers": failovers}))
        """

    @Test func theOpenAIPackageChatsThroughANodeWithoutTheModelAndSurvivesItsWorkerDying() async throws {
        let python = try Self.pythonWithOpenAI()
        let model = try TaskPlaneProcessTests.demoModel()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-openai-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let daemons = try await TaskPlaneProcessTests.startMesh(3, root: root) { $0 == 0 ? ["--api", "127.0.0.1:0"] : [] }
        defer { for daemon in daemons { daemon.stop() } }
        var blob = ""
        var pids: [String: Int32] = [:]
        for holder in daemons[1...] {
            let added = try TaskPlaneProcessTests.tern(["blob", "add", model, "--name", "smollm2", "--json",
                                                        "--data", holder.directory.url.path])
            #expect(added.status == 0, "\(added.err)")
            let info = try #require(try JSONSerialization.jsonObject(with: Data(added.out.utf8)) as? [String: Any], "\(added.out)")
            blob = try #require(info["id"] as? String)
            let status = try await holder.client().status()
            pids[status.fingerprint] = try #require(holder.process?.processIdentifier)
        }
        let base = try await APIProcessTests.apiBase(of: daemons[0])
        let pidJSON = String(decoding: try JSONSerialization.data(withJSONObject: pids), as: UTF8.self)

        let prompt = "What is the capital of France?"
        let run = try await Subprocess.run(python, ["-c", Self.script, base, blob, prompt, pidJSON])
        #expect(run.status == 0, "\(run.out)\n\(run.err)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any], "\(run.out)")
        let text = try #require(result["text"] as? String)
        #expect(!text.isEmpty)
        #expect(result["streamed"] as? String == text)
        #expect(result["stream_finish"] as? [String] == [result["finish"] as? String ?? "?"])
        // Same seed, same continuation: the client cannot tell that its worker died.
        let whole = try #require(result["whole"] as? String)
        #expect(!whole.isEmpty)
        #expect(result["failed_over"] as? String == whole)
        let finishes = try #require(result["finishes"] as? [String?])
        #expect(finishes.count == 2 && finishes[0] != nil && finishes[0] == finishes[1])
        #expect(result["failovers"] as? [String] == ["tern_mesh_failovers_total 1"])
        let killed = try #require(result["killed"] as? String)
        let survivor = try #require(daemons[1...].first { $0.process?.processIdentifier != pids[killed] })
        #expect(survivor.isRunning)

        let local = try await TaskPlaneProcessTests.ternInBackground(["run", model, "--chat", "-p", prompt, "-n", "16", "--temp", "0"])
        #expect(local.status == 0, "\(local.err)")
        #expect(local.out == text + "\n", "tern run: \(local.out.debugDescription), API: \(text.debugDescription)")
        #expect(daemons[0].isRunning)
    }

    /// A Python 3 that can import `openai`, which scripts/setup.sh installs.
    static func pythonWithOpenAI() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map { "\($0)/python3" } + ["/usr/bin/python3", "/usr/local/bin/python3"]
        let chosen = try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "python3 is not installed: run scripts/setup.sh")
        let check = try Subprocess.runNow(chosen, ["-c", "import openai"])
        try #require(check.status == 0, "python3 cannot import openai: run scripts/setup.sh (pip install openai) — \(check.err)")
        return chosen
    }
}
