import ArgumentParser
import Foundation
import TernModel

/// `tern data instructions --out DIR`: writes the instruction dataset `tern eval` and
/// fine-tuning use (train, validation and test JSONL chat files), deterministically.
struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Generate datasets.",
        subcommands: [Instructions.self]
    )

    struct Instructions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the instruction dataset (train/validation/test.jsonl, chat format) into a folder.",
            discussion: "The repository ships the default-seed output in Tests/Fixtures/instructions."
        )

        @Option(help: "Folder to write train.jsonl, validation.jsonl and test.jsonl into.")
        var out: String

        @Option(help: "Seed of the generator.")
        var seed: UInt64 = InstructionDataset.defaultSeed

        func run() async throws {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let splits = InstructionDataset.generate(seed: seed)
            for (name, examples) in [("train", splits.train), ("validation", splits.validation), ("test", splits.test)] {
                let path = URL(fileURLWithPath: out).appendingPathComponent("\(name).jsonl").path
                try InstructionFile.jsonl(examples).write(toFile: path, atomically: true, encoding: .utf8)
                print("\(path): \(examples.count) examples")
            }
        }
    }
}
