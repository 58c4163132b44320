import Foundation

/// Read access to the operating system's files under a root directory: "/" on a real
/// machine, a fixture tree of fake `/proc` and `/sys` files in tests.
struct SystemFiles: Sendable {
    let root: String

    func url(_ path: String) -> URL {
        URL(fileURLWithPath: root).appendingPathComponent(String(path.drop(while: { $0 == "/" })))
    }

    /// The file's text, or nil when it is missing or unreadable.
    func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: url(path).path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The file's text without surrounding whitespace or the NUL terminators that
    /// device-tree strings carry; nil when missing or empty.
    func value(_ path: String) -> String? {
        let trimmed = read(path)?.trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: "\0")))
        return trimmed?.isEmpty == false ? trimmed : nil
    }

    func require(_ path: String) throws -> String {
        guard let text = read(path) else { throw HardwareDetectionError.unreadable(path: path) }
        return text
    }

    /// Entry names of a directory, sorted; empty when it does not exist.
    func list(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: url(path).path)) ?? []).sorted()
    }

    func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: url(path).path)
    }
}
