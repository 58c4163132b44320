#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where repacked engine layouts are kept between loads: one file per model content and
/// variant, `<directory>/<content hash>-t5[-q8head].layout` (see `LayoutCacheFormat`). A
/// load hashes the model's bytes (`ContentHash`, read with pread: 0.1–0.2 s for 2B), maps the file of that
/// name and validates it in full; anything that does not validate is rebuilt, never
/// trusted. Because the name is the content hash, a changed model file simply names another
/// cache file; the directory is trimmed to `byteLimit`, least recently used first.
public struct LayoutCache: Sendable {
    public var directory: String
    /// Rebuild and replace the file even when a valid one exists (a cold-load benchmark).
    public var refresh: Bool
    /// Total size the directory's cache files may reach after a store; older files go first.
    public var byteLimit: Int

    public static let defaultByteLimit = 8 << 30

    public init(directory: String, refresh: Bool = false, byteLimit: Int = LayoutCache.defaultByteLimit) {
        self.directory = directory
        self.refresh = refresh
        self.byteLimit = byteLimit
    }

    /// The cache a command uses by default: `$TERN_LAYOUT_CACHE` if set (`off` disables it),
    /// else `<home>/.cache/tern/layouts`.
    public static func standard(environment: [String: String], home: String) -> LayoutCache? {
        switch environment["TERN_LAYOUT_CACHE"] {
        case "off": nil
        case let directory? where !directory.isEmpty: LayoutCache(directory: directory)
        default: LayoutCache(directory: home + "/.cache/tern/layouts")
        }
    }

    /// The file for a model whose bytes hash to `modelHash`, with or without the Q8_0 head.
    func path(modelHash: UInt64, quantizedHead: Bool) -> String {
        let hex = String(modelHash, radix: 16)
        return "\(directory)/\(String(repeating: "0", count: 16 - hex.count))\(hex)-t5\(quantizedHead ? "-q8head" : "").layout"
    }

    /// Creates the directory (and its parents) if needed.
    func createDirectory() throws {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for part in directory.split(separator: "/") {
            prefix += "/\(part)"
            guard mkdir(prefix, 0o755) == 0 || errno == EEXIST else {
                throw LayoutCacheWriter.WriteError(description: "cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Marks `path` as just used, so that trimming keeps it longest.
    func touch(_ path: String) {
        _ = utimensat(AT_FDCWD, path, nil, 0)
    }

    /// Deletes the least recently used `.layout` files until the directory's files fit
    /// `byteLimit`, never `keep`, and temporary files a crashed writer left over an hour
    /// ago. A file another process has mapped stays readable by it.
    func trim(keeping keep: String) {
        guard let dir = opendir(directory) else { return }
        var files: [(path: String, size: Int, used: Int)] = []
        let now = time(nil)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let path = "\(directory)/\(name)"
            var info = stat()
            guard name.contains(".layout"), stat(path, &info) == 0 else { continue }
            #if canImport(Glibc)
            let used = Int(info.st_mtim.tv_sec)
            #else
            let used = Int(info.st_mtimespec.tv_sec)
            #endif
            if name.hasSuffix(".layout") {
                files.append((path, Int(info.st_size), used))
            } else if name.contains(".layout.tmp-"), used < now - 3600 {
                unlink(path)
            }
        }
        closedir(dir)
        var total = files.reduce(0) { $0 + $1.size }
        for file in files.sorted(by: { $0.used < $1.used }) where total > byteLimit && file.path != keep {
            if unlink(file.path) == 0 { total -= file.size }
        }
    }
}
