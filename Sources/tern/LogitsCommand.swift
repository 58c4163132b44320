import ArgumentParser
import Foundation
import TernKernels
import TernModel

/// `tern logits MODEL --prompts FILE --top K`: the next-token distribution at every
/// position of each prompt, as JSONL in the reference files' format (for parity checks
/// against llama.cpp or a float reference).
struct LogitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Write the K most likely next tokens at every position of each prompt as JSONL.",
        discussion: """
            The prompt file holds one prompt per line; write a newline inside a prompt as \\n \
            and a backslash as \\\\. Special tokens such as <|im_start|> are parsed. Each output \
            line is {"text", "tokens", "top"}, where top lists per position [id, log_prob] pairs \
            (log-softmax over the full vocabulary), most likely first.
            """
    )

    @Argument(help: "Path to a .gguf model.")
    var model: String

    @Option(help: "Text file with one prompt per line.")
    var prompts: String

    @Option(help: "Tokens to list per position.")
    var top = 10

    @OptionGroup var engine: EngineOptions

    @Option(help: "Write the JSONL here instead of standard output.")
    var out: String?

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1, got \(top)") }
    }

    func run() async throws {
        let promptText: String
        do {
            promptText = try String(contentsOfFile: prompts, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read the prompt file \(prompts) as UTF-8 text: \(error.localizedDescription)")
        }
        let texts: [String]
        do {
            texts = try PromptFile.parse(promptText)
        } catch {
            throw ValidationError("\(prompts): \(error)")
        }
        let file = try GGUFFile(path: model)
        let tokenizer = try Tokenizer(file: file)
        let transformer = try engine.model(file: file)
        let longest = texts.map { tokenizer.encode($0).count }.max() ?? 1
        // Default context: just enough for the longest prompt (each prompt starts afresh).
        let session = engine.session(for: transformer, contextLength: engine.contextLength(for: transformer, fallback: max(longest, 1)))
        let probe = LogitsProbe(session: session, tokenizer: tokenizer)

        let sink: FileHandle
        if let out {
            guard FileManager.default.createFile(atPath: out, contents: nil), let handle = FileHandle(forWritingAtPath: out) else {
                throw ValidationError("cannot create the output file \(out)")
            }
            sink = handle
        } else {
            sink = FileHandle.standardOutput
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for (index, text) in texts.enumerated() {
            let record = try probe.record(text, top: top)
            sink.write(try encoder.encode(record) + Data("\n".utf8))
            FileHandle.standardError.write(Data("[\(index + 1)/\(texts.count)] \(record.tokens.count) tokens\n".utf8))
        }
        if out != nil { try sink.close() }
    }
}
