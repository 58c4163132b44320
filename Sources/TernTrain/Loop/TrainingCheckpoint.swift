import Foundation

/// The complete state of a run after some optimizer step: resuming from it continues
/// bit-identically (same adapter bits, same losses) to a run that never stopped.
public struct TrainingCheckpoint: Equatable {
    /// The small fields, stored as `state.json`.
    public struct State: Codable, Equatable {
        public var step: Int
        public var epoch: Int
        /// Position in `order`, the training-sequence order of the current epoch.
        public var cursor: Int
        public var order: [Int]
        /// The shuffling generator's four state words, as hex (JSON numbers lose 64-bit ints).
        public var random: [String]
        public var options: TrainingOptions
        public var adamStep: Int
        public var sites: [String]
    }

    public var state: State
    public var parameters: [Float]
    public var firstMoment: [Float]
    public var secondMoment: [Float]

    private static let latestName = "latest"

    /// Writes `directory/step-N/` through a temporary directory renamed into place, then
    /// points `directory/latest` at it (temp file + rename), then removes older steps: a
    /// crash at any moment leaves the previous checkpoint intact and current.
    public func write(to directory: String) throws {
        let fm = FileManager.default
        let root = URL(fileURLWithPath: directory)
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let name = "step-\(state.step)"
        let temporary = root.appendingPathComponent(".\(name).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: temporary)
        try fm.createDirectory(at: temporary, withIntermediateDirectories: false)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(state).write(to: temporary.appendingPathComponent("state.json"))
        try Self.floats(parameters).write(to: temporary.appendingPathComponent("parameters.f32"))
        try Self.floats(firstMoment).write(to: temporary.appendingPathComponent("adam-m.f32"))
        try Self.floats(secondMoment).write(to: temporary.appendingPathComponent("adam-v.f32"))
        let final = root.appendingPathComponent(name)
        try? fm.removeItem(at: final)
        try fm.moveItem(at: temporary, to: final)
        try Data(name.utf8).write(to: root.appendingPathComponent(Self.latestName), options: .atomic)
        for old in try fm.contentsOfDirectory(atPath: directory) where old.hasPrefix("step-") && old != name {
            try? fm.removeItem(at: root.appendingPathComponent(old))
        }
    }

    /// Reads the checkpoint `directory/latest` names.
    public static func read(from directory: String) throws -> TrainingCheckpoint {
        let root = URL(fileURLWithPath: directory)
        guard let latest = try? String(contentsOf: root.appendingPathComponent(latestName), encoding: .utf8) else {
            throw TrainingError.checkpoint("no '\(latestName)' file in \(directory)")
        }
        let dir = root.appendingPathComponent(latest.trimmingCharacters(in: .whitespacesAndNewlines))
        func data(_ file: String) throws -> Data {
            do { return try Data(contentsOf: dir.appendingPathComponent(file)) } catch {
                throw TrainingError.checkpoint("cannot read \(dir.path)/\(file): \(error.localizedDescription)")
            }
        }
        let state: State
        do { state = try JSONDecoder().decode(State.self, from: try data("state.json")) } catch let e as TrainingError {
            throw e
        } catch {
            throw TrainingError.checkpoint("\(dir.path)/state.json is malformed: \(error)")
        }
        let checkpoint = TrainingCheckpoint(state: state, parameters: try floats(try data("parameters.f32"), file: "parameters.f32"),
                                            firstMoment: try floats(try data("adam-m.f32"), file: "adam-m.f32"),
                                            secondMoment: try floats(try data("adam-v.f32"), file: "adam-v.f32"))
        guard checkpoint.firstMoment.count == checkpoint.parameters.count,
              checkpoint.secondMoment.count == checkpoint.parameters.count else {
            throw TrainingError.checkpoint("\(dir.path): optimizer moments do not match the \(checkpoint.parameters.count) parameters")
        }
        return checkpoint
    }

    private static func floats(_ values: [Float]) -> Data {
        var data = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    private static func floats(_ data: Data, file: String) throws -> [Float] {
        guard data.count % 4 == 0 else { throw TrainingError.checkpoint("\(file) is \(data.count) bytes, not whole float32 values") }
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
