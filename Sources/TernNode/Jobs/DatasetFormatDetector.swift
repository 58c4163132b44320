import Foundation
import TernTrain

/// Tells a dataset's layout from its first non-blank line, for jobs whose options leave the
/// format out: a JSON object with `messages` is chat, one with `prompt` is completion, and
/// anything that does not start with `{` is plain text. A line that starts with `{` but is
/// neither is an error, not text: training on JSON as prose would waste the job silently.
enum DatasetFormatDetector {
    /// How much of the file is read to find the first line.
    static let headBytes = 1 << 20

    static func format(ofFileAt path: String) throws(TrainJobError) -> TrainingDataFormat {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .missingFile(role: "dataset", path: path) }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: headBytes)) ?? Data()
        let firstLine = head.split(separator: UInt8(ascii: "\n")).lazy
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            .first { !$0.isEmpty }
        guard let firstLine, firstLine.hasPrefix("{") else { return .text }
        guard let object = try? JSONSerialization.jsonObject(with: Data(firstLine.utf8)) as? [String: Any] else {
            throw .badDataset(path: path, reason: "line 1 starts like JSON but does not parse as a JSON object")
        }
        if object["messages"] != nil { return .chat }
        if object["prompt"] != nil { return .completion }
        throw .badDataset(path: path, reason: "line 1 is a JSON object without 'messages' (chat) or 'prompt' (completion)")
    }
}
