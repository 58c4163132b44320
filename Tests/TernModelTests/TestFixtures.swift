import Foundation
import TernModel

/// Locates the reference fixtures (shipped in the repository) and the model cache for tests.
enum TestFixtures {
    /// `$TERN_REFERENCE`, else `Tests/Fixtures/reference` in this repository: llama.cpp's and
    /// the float64 reference's outputs and the llama.cpp-trained LoRA fixture
    /// (see `Tests/Fixtures/reference/README.md`).
    static var referenceDirectory: URL {
        if let env = ProcessInfo.processInfo.environment["TERN_REFERENCE"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Fixtures/reference")
    }

    /// `$TERN_MODELS`, default `~/.cache/tern/models`.
    static var modelsDirectory: URL {
        if let env = ProcessInfo.processInfo.environment["TERN_MODELS"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tern/models")
    }

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "missing \(path): run scripts/setup.sh" }
    }

    static func modelPath(_ name: String) throws -> String {
        let path = modelsDirectory.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else { throw Missing(path: path) }
        return path
    }

    static let smolLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static let bitnetTiny = "bitnet-tiny-tq2_0.gguf"

    struct ReferencePrompt: Decodable {
        let text: String
        let tokens: [Int32]
    }

    /// Every prompt of every `*.jsonl` in the reference folder.
    static func referencePrompts() throws -> [(file: String, prompt: ReferencePrompt)] {
        let dir = referenceDirectory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else {
            throw Missing(path: dir.path)
        }
        var out: [(String, ReferencePrompt)] = []
        for name in names.sorted() where name.hasSuffix(".jsonl") {
            let data = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            for line in data.split(separator: "\n") where !line.isEmpty {
                out.append((name, try JSONDecoder().decode(ReferencePrompt.self, from: Data(line.utf8))))
            }
        }
        return out
    }
}
