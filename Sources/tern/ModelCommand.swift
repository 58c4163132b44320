import ArgumentParser

/// `tern model …`: inspect model files.
struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Inspect GGUF model files.",
        subcommands: [ModelInfoCommand.self, ModelTokenizeCommand.self, ModelSynthCommand.self]
    )
}
