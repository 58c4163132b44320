import Foundation
import Testing
import TernMesh
import TernNode

/// A real daemon holding the demo model (`tern node start --api 127.0.0.1:0`), driven by the
/// official Python `openai` package: the model list, a non-streaming and a streaming chat
/// completion, and a temperature-0 reply equal to `tern run --chat --temp 0`.
@Suite(.serialized) struct OpenAIClientProcessTests {
    static let script = """
        import json, sys
        from openai import OpenAI
        base, model, prompt = sys.argv[1], sys.argv[2], sys.argv[3]
        client = OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=120)
        ids = [m.id for m in client.models.list().data]
        assert model in ids, ids
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
        print(json.dumps({"text": choice.message.content, "streamed": streamed, "finish": choice.finish_reason,
                          "stream_finish": reasons}))
        """

    @Test func theOpenAIPackageChatsWithADaemonHoldingTheDemoModel() async throws {
        let python = try Self.pythonWithOpenAI()
        let model = try TaskPlaneProcessTests.demoModel()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-openai-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let daemons = try await TaskPlaneProcessTests.startMesh(1, root: root) { _ in ["--api", "127.0.0.1:0"] }
        defer { for daemon in daemons { daemon.stop() } }
        let added = try TaskPlaneProcessTests.tern(["blob", "add", model, "--name", "smollm2", "--json",
                                                    "--data", daemons[0].directory.url.path])
        #expect(added.status == 0, "\(added.err)")
        let base = try await APIProcessTests.apiBase(of: daemons[0])

        let prompt = "What is the capital of France?"
        let run = try await Subprocess.run(python, ["-c", Self.script, base, "smollm2", prompt])
        #expect(run.status == 0, "\(run.out)\n\(run.err)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any], "\(run.out)")
        let text = try #require(result["text"] as? String)
        #expect(!text.isEmpty)
        #expect(result["streamed"] as? String == text)
        #expect(result["stream_finish"] as? [String] == [result["finish"] as? String ?? "?"])

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
