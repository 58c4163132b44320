import Foundation
import TernModel

/// Locates the shared reference files and the model cache for tests.
enum TestFixtures {
    /// `$TERN_SHARED_REFERENCE`, else `shared/reference` beside the package root or beside
    /// one of its ancestors (a worktree nested one level deeper than the clone).
    static var referenceDirectory: URL {
        if let env = ProcessInfo.processInfo.environment["TERN_SHARED_REFERENCE"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir = dir.deletingLastPathComponent()
        }
        var candidate = dir.deletingLastPathComponent()
        while candidate.path != "/" {
            let reference = candidate.appendingPathComponent("shared/reference")
            if FileManager.default.fileExists(atPath: reference.path) { return reference }
            candidate = candidate.deletingLastPathComponent()
        }
        return dir.deletingLastPathComponent().appendingPathComponent("shared/reference")
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
