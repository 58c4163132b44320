import Foundation
import Testing
import TernMesh
import TernNode

/// `tern run --node` and `tern chat --node` against a real daemon holding the demo model
/// (`tern node start --api 127.0.0.1:0`): temperature-0 text equal to local `tern run`, the
/// local node found through `--data`, a chat line from standard input, and the errors.
@Suite(.serialized) struct NodeClientProcessTests {
    @Test func runAndChatThroughANodeEqualLocalRuns() async throws {
        let model = try TaskPlaneProcessTests.demoModel()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-nodeclient-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let daemons = try await TaskPlaneProcessTests.startMesh(1, root: root) { _ in ["--api", "127.0.0.1:0"] }
        defer { for daemon in daemons { daemon.stop() } }
        let data = daemons[0].directory.url.path
        let added = try TaskPlaneProcessTests.tern(["blob", "add", model, "--name", "smollm2", "--json", "--data", data])
        #expect(added.status == 0, "\(added.err)")
        let base = try await APIProcessTests.apiBase(of: daemons[0])
        let tern = MeshProcessTests.ternBinary.path
        let prompt = "What is the capital of France?"

        // A text completion: the prompt, then the continuation, as local `tern run` prints it.
        let opening = "Once upon a time, there was"
        let local = try await Subprocess.run(tern, ["run", model, "-p", opening, "-n", "16", "--temp", "0"])
        #expect(local.status == 0, "\(local.err)")
        let remote = try await Subprocess.run(tern, ["run", "--node", base, "--temp", "0", "-n", "16", "-p", opening])
        #expect(remote.status == 0, "\(remote.err)")
        #expect(remote.out == local.out, "node: \(remote.out.debugDescription), local: \(local.out.debugDescription)")
        #expect(local.out.count > opening.count + 1)

        // --chat, with the local node found through its data directory (`--node` without a value).
        let localChat = try await Subprocess.run(tern, ["run", model, "--chat", "-p", prompt, "-n", "16", "--temp", "0"])
        #expect(localChat.status == 0, "\(localChat.err)")
        let remoteChat = try await Subprocess.run(tern, ["run", "--chat", "-p", prompt, "-n", "16", "--temp", "0",
                                                         "--model", "smollm2", "--data", data, "--node"])
        #expect(remoteChat.status == 0, "\(remoteChat.err)")
        #expect(remoteChat.out == localChat.out, "node: \(remoteChat.out.debugDescription), local: \(localChat.out.debugDescription)")
        #expect(localChat.out.count > 1)

        // tern chat --node answers a line from standard input with the same reply.
        let chat = try await Subprocess.run("/bin/sh", ["-c", #"printf '%s\n' "$1" | "$0" chat --node "$2" --temp 0 -n 16"#,
                                                        tern, prompt, base])
        #expect(chat.status == 0, "\(chat.err)")
        #expect(chat.out == localChat.out, "chat: \(chat.out.debugDescription), run --chat: \(localChat.out.debugDescription)")

        // The node's OpenAI error is shown, with a non-zero status.
        let unknown = try await Subprocess.run(tern, ["run", "--node", base, "--model", "no-such-model", "-p", "hi", "-n", "4"])
        #expect(unknown.status != 0)
        #expect(unknown.err.contains("404") && unknown.err.contains("model_not_found"), "\(unknown.err)")
        #expect(daemons[0].isRunning)
    }

    @Test func aNodeThatCannotBeReachedIsReported() async throws {
        let tern = MeshProcessTests.ternBinary.path
        let port = MeshProcessTests.freePortBase()
        let refused = try await Subprocess.run(tern, ["run", "--node", "http://127.0.0.1:\(port)", "-p", "hi", "-n", "4"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("cannot reach the node at http://127.0.0.1:\(port)"), "\(refused.err)")
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("tern-nodeclient-\(UUID().uuidString.prefix(8))")
        let noFile = try await Subprocess.run(tern, ["chat", "--node", "--data", empty.path])
        #expect(noFile.status != 0)
        #expect(noFile.err.contains("api.json: is the node running with --api?"), "\(noFile.err)")
        let https = try await Subprocess.run(tern, ["run", "--node", "https://example.org", "-p", "hi"])
        #expect(https.status != 0)
        #expect(https.err.contains("only http://"), "\(https.err)")
    }
}

/// The pieces of the client that need no node: base URLs and the event-stream parser.
@Suite struct NodeClientTests {
    @Test func baseURLs() throws {
        #expect(try NodeBaseURL("http://127.0.0.1:8080") == NodeBaseURL("127.0.0.1:8080"))
        let withV1 = try NodeBaseURL("http://example.org/proxy/v1/")
        #expect(withV1.host == "example.org" && withV1.port == 80 && withV1.prefix == "/proxy")
        let v6 = try NodeBaseURL("http://[::1]:9000")
        #expect(v6.host == "::1" && v6.port == 9000 && v6.description == "http://[::1]:9000")
        #expect(throws: NodeClientError.self) { try NodeBaseURL("https://example.org") }
        #expect(throws: NodeClientError.self) { try NodeBaseURL("http://host:99999") }
    }

    @Test func eventsSplitWhereverTheBytesBreak() {
        let stream = "data: {\"a\":\"é\"}\n\n: comment\r\ndata: one\r\ndata: two\r\n\r\nevent: x\ndata: [DONE]\n\n"
        let bytes = Array(stream.utf8)
        for cut in 0...bytes.count {
            var parser = ServerSentEventParser()
            let events = parser.feed(Array(bytes[..<cut])) + parser.feed(Array(bytes[cut...]))
            #expect(events == ["{\"a\":\"é\"}", "one\ntwo", "[DONE]"], "cut at \(cut)")
        }
    }
}
