import ArgumentParser
import Foundation
import TernNode

/// `--node [URL]` and its companions, shared by `tern run` and `tern chat`: send the request
/// to a node's OpenAI API (docs/api.md) instead of loading a model here.
struct NodeClientOptions: ParsableArguments {
    /// `--node` with no value reaches here as `local` (see `Tern.main`): the local node, from
    /// the `api.json` in its data directory.
    @Option(name: .customLong("node"),
            help: ArgumentHelp("Generate on a node through its OpenAI API instead of loading a model here: the API's base URL (http://127.0.0.1:8080), or no value (or `local`) for the local node (its api.json, see --data).", valueName: "url"))
    var node: String?

    @Option(name: .customLong("model"), help: "With --node: the served model, by registered name or blob id (default: the first /v1/models lists).")
    var servedModel: String?

    @Option(help: "With --node: the node's API key (default: $TERN_API_KEY).")
    var apiKey: String?

    @Option(help: "With --node: stop where the reply would contain this text (repeatable, at most 16).")
    var stop: [String] = []

    @OptionGroup var data: DataDirectoryOption

    var enabled: Bool { node != nil }

    /// The value that means "the node whose data directory is --data".
    static let local = "local"

    func validate() throws {
        guard node == nil else {
            if stop.count > 16 { throw ValidationError("at most 16 --stop strings, got \(stop.count)") }
            return
        }
        if servedModel != nil { throw ValidationError("--model names a model served by a node: it needs --node") }
        if apiKey != nil { throw ValidationError("--api-key needs --node") }
        if !stop.isEmpty { throw ValidationError("--stop needs --node") }
        if data.path != nil { throw ValidationError("--data needs --node") }
    }

    /// A client of the node: `--node URL`, or the local node's `api.json`.
    func client() throws -> NodeAPIClient {
        let base = try (node ?? Self.local) == Self.local ? NodeAPIClient.localBase(directory: data.directory) : NodeBaseURL(node!)
        let key = apiKey ?? ProcessInfo.processInfo.environment["TERN_API_KEY"]
        return NodeAPIClient(base: base, apiKey: key.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
    }

    /// `--model`, else the first model the node lists.
    func model(of client: NodeAPIClient) async throws -> String {
        if let servedModel { return servedModel }
        guard let first = try await client.models().first else {
            throw NodeClientError.badResponse("the node at \(client.http.base) serves no model")
        }
        return first
    }

    /// The sampling flags as OpenAI parameters. Top-k, min-p and the repetition penalty have
    /// no OpenAI counterpart and are not sent (the node samples as OpenAI does).
    func parameters(_ sampling: SamplingOptions, maxTokens: Int) -> NodeAPIClient.Parameters {
        if sampling.repeatPenalty != 1 {
            FileHandle.standardError.write(Data("[--repeat-penalty is not sent to a node: OpenAI's API has none]\n".utf8))
        }
        return NodeAPIClient.Parameters(maxTokens: maxTokens, temperature: sampling.temp, topP: sampling.topP,
                                        seed: sampling.seed, stop: stop)
    }

    /// Rewrites `--node` given without a value (last, or followed by another option) to
    /// `--node=local` for `tern run` and `tern chat`, since an option's value cannot be
    /// optional in ArgumentParser.
    static func normalize(_ arguments: [String]) -> [String] {
        guard let command = arguments.first, command == "run" || command == "chat" else { return arguments }
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { result += arguments[index...]; break }
            if argument == "--node", index + 1 == arguments.count || arguments[index + 1].hasPrefix("-") {
                result.append("--node=\(local)")
            } else {
                result.append(argument)
            }
            index += 1
        }
        return result
    }
}

extension NodeAPIClient.Completion {
    /// `[N prompt tokens; M generated in T s, first text after F s; stop: R]` for standard error.
    var report: String {
        var parts: [String] = []
        if let promptTokens { parts.append("\(promptTokens) prompt tokens") }
        var generated = completionTokens.map { "\($0) generated" } ?? "generated"
        generated += String(format: " in %.2f s", totalSeconds)
        if let first = firstTextSeconds {
            generated += String(format: ", first text after %.2f s", first)
            if let completionTokens, completionTokens > 1, totalSeconds > first {
                generated += String(format: ", %.1f tok/s", Double(completionTokens - 1) / (totalSeconds - first))
            }
        }
        parts.append(generated)
        parts.append("stop: \(finishReason ?? "?")")
        return "[" + parts.joined(separator: "; ") + "]"
    }
}
