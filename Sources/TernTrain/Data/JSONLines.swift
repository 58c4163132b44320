import Foundation

/// The objects of a JSON Lines file, each with its 1-based line number. Blank lines are
/// allowed (and skipped); anything else that is not a JSON object is an error naming the line.
struct JSONLines {
    struct Line {
        let object: [String: Any]
        let location: TrainingDataError.SourceLocation

        /// The string at `key`; throws naming the line when it is missing or not a string.
        func string(_ key: String) throws -> String {
            guard let value = object[key] else { throw TrainingDataError.missingKey(location, key: key) }
            guard let text = value as? String else { throw TrainingDataError.wrongType(location, key: key, expected: "a string") }
            return text
        }

        /// The array of objects at `key`.
        func objects(_ key: String) throws -> [[String: Any]] {
            guard let value = object[key] else { throw TrainingDataError.missingKey(location, key: key) }
            guard let items = value as? [Any] else { throw TrainingDataError.wrongType(location, key: key, expected: "an array") }
            return try items.map { item in
                guard let object = item as? [String: Any] else {
                    throw TrainingDataError.wrongType(location, key: key, expected: "an array of objects")
                }
                return object
            }
        }
    }

    static func parse(_ text: String, path: String) throws -> [Line] {
        var lines: [Line] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            let location = TrainingDataError.SourceLocation(path: path, line: index + 1)
            let parsed: Any
            do {
                parsed = try JSONSerialization.jsonObject(with: Data(line.utf8))
            } catch {
                throw TrainingDataError.malformedJSON(location, reason: Self.reason(error))
            }
            guard let object = parsed as? [String: Any] else {
                throw TrainingDataError.malformedJSON(location, reason: "expected a JSON object")
            }
            lines.append(Line(object: object, location: location))
        }
        return lines
    }

    /// Foundation's parse message without its boilerplate.
    private static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        return (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
    }
}
