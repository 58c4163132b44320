import ArgumentParser
import Foundation
import TernModel

/// `tern model tokenize FILE [TEXT]`: the token ids of a text (or of standard input) under a
/// model's tokenizer, to compare with llama.cpp's `llama-tokenize`.
struct ModelTokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text under a model's tokenizer."
    )

    @Argument(help: "Path to a .gguf file.")
    var file: String

    @Argument(help: "Text to tokenize; read from standard input when omitted.")
    var text: String?

    @Flag(help: "Add the BOS token even if the model does not ask for it.")
    var bos = false

    @Flag(help: "Treat special-token text such as <|im_start|> as plain text.")
    var noParseSpecial = false

    @Flag(help: "Print each id with its text, one per line.")
    var pieces = false

    func run() async throws {
        let tokenizer = try Tokenizer(file: GGUFFile(path: file))
        let input = text ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let ids = tokenizer.encode(input, addBOS: bos ? true : nil, parseSpecial: !noParseSpecial)
        if pieces {
            for id in ids { print(id, String(decoding: tokenizer.bytes(of: id), as: UTF8.self).debugDescription) }
        } else {
            print("[" + ids.map(String.init).joined(separator: ", ") + "]")
        }
    }
}
