import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TernMesh

/// An open file of the blob store, shared by every thread reading or writing that blob.
/// Positioned I/O (`pread`/`pwrite`) needs no shared offset, so callers do it outside the
/// store's locks; the descriptor closes when the last holder lets go, so a reader that took
/// the file just before it was renamed (a finished download) or removed still reads safely.
final class BlobFile: Sendable {
    let descriptor: Int32
    let path: String
    /// Writers of one file take turns: the kernel serializes buffered writes to a file on its
    /// inode lock anyway, and waiting here sleeps where waiting there spins a core.
    private let writing = NSLock()

    private init(path: String, flags: Int32) throws {
        let descriptor = open(path, flags | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw BlobError.io(path: path, reason: "cannot open: \(systemError())") }
        self.descriptor = descriptor
        self.path = path
    }

    static func reading(_ path: String) throws -> BlobFile { try BlobFile(path: path, flags: O_RDONLY) }

    /// Opens for writing, creating the file if needed; `truncate` empties an existing one.
    static func writing(_ path: String, truncate: Bool = false) throws -> BlobFile {
        try BlobFile(path: path, flags: O_RDWR | O_CREAT | (truncate ? O_TRUNC : 0))
    }

    deinit { close(descriptor) }

    /// Fills `buffer` from `offset` unless the file ends first; returns how much was read.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = pread(descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset) + off_t(filled))
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw BlobError.io(path: path, reason: "cannot read: \(systemError())")
            }
            filled += count
        }
        return filled
    }

    /// Exactly the bytes of `range`; a file that ends sooner is an error.
    func read(_ range: Range<UInt64>) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: range.count)
        let filled = try bytes.withUnsafeMutableBytes { try read(into: $0, at: range.lowerBound) }
        guard filled == range.count else { throw BlobError.io(path: path, reason: "ends before byte \(range.upperBound)") }
        return bytes
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        writing.lock()
        defer { writing.unlock() }
        var written = 0
        while written < bytes.count {
            let count = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
            if count < 0 {
                if errno == EINTR { continue }
                throw BlobError.io(path: path, reason: "cannot write: \(systemError())")
            }
            written += count
        }
    }

    /// Sets the length: a download's file is sized up front (sparse), so chunks land anywhere.
    func resize(to size: UInt64) throws {
        guard ftruncate(descriptor, off_t(size)) == 0 else {
            throw BlobError.io(path: path, reason: "cannot resize: \(systemError())")
        }
    }

    /// Waits until everything written is on disk.
    func sync() throws {
        guard fsync(descriptor) == 0 else { throw BlobError.io(path: path, reason: "cannot sync: \(systemError())") }
    }
}

/// What a file referenced in place looked like when its content was last verified; any
/// difference means it must be hashed again before it is trusted.
struct FileStatus: Equatable, Sendable {
    var size: UInt64
    /// Nanoseconds since 1970: a rewrite within the same second still shows.
    var modified: Int64

    init(size: UInt64, modified: Int64) {
        self.size = size
        self.modified = modified
    }

    init(path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { throw BlobError.io(path: path, reason: "cannot stat: \(systemError())") }
        size = UInt64(info.st_size)
        #if canImport(Glibc)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        #else
        modified = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        #endif
    }
}

/// Directory operations of the blob store.
enum BlobFiles {
    /// Makes a rename or a new file in `directory` survive a crash.
    static func syncDirectory(_ directory: String) throws {
        let file = try BlobFile.reading(directory)
        try file.sync()
    }

    /// Replaces `to` atomically.
    static func move(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else { throw BlobError.io(path: from, reason: "cannot rename to \(to): \(systemError())") }
    }

    /// Deletes `path`; one already gone is not an error.
    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw BlobError.io(path: path, reason: "cannot delete: \(systemError())") }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

func systemError() -> String { String(cString: strerror(errno)) }
