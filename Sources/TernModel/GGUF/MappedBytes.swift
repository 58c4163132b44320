import TernKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only bytes that stay at a fixed address for the object's lifetime: a private
/// read-only mmap of a file, or an owned heap copy (for tests and in-memory files).
/// Views handed out by `GGUFFile` point into this memory, so no tensor data is copied.
final class MappedBytes: @unchecked Sendable {
    // Sendable: the memory is never written after init.
    let buffer: UnsafeRawBufferPointer
    private let isMapped: Bool
    /// The open file behind the mapping (-1 for an owned copy), kept for `read`.
    private let descriptor: Int32

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var keep = false
        defer {
            if !keep { close(fd) }
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError.cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        if size == 0 {
            buffer = UnsafeRawBufferPointer(start: nil, count: 0)
            isMapped = false
            descriptor = -1
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw GGUFError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        buffer = UnsafeRawBufferPointer(start: base, count: size)
        isMapped = true
        descriptor = fd
        keep = true
    }

    init(copying bytes: [UInt8]) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { src in
            if let base = src.baseAddress { storage.baseAddress!.copyMemory(from: base, byteCount: src.count) }
        }
        buffer = UnsafeRawBufferPointer(start: storage.baseAddress, count: bytes.count)
        isMapped = false
        descriptor = -1
    }

    /// `ContentHash` of every byte; a file is read with pread rather than through the
    /// mapping, so hashing a model does not make it resident.
    func contentHash(pool: ThreadPool?) throws -> UInt64 {
        guard descriptor >= 0 else { return ContentHash.of(buffer, pool: pool) }
        guard let hash = ContentHash.ofFile(descriptor: descriptor, count: buffer.count, pool: pool) else {
            throw GGUFError.readFailed(offset: 0, reason: "hashing the file: \(String(cString: strerror(errno)))")
        }
        return hash
    }

    /// Copies `range` (a view into `buffer`) into `out` (at least as long) without touching
    /// the mapping: from a file with pread, so the read adds nothing to resident memory.
    func read(_ range: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) throws {
        guard range.count > 0, let start = range.baseAddress, let base = buffer.baseAddress, let target = out.baseAddress else { return }
        guard descriptor >= 0 else {
            target.copyMemory(from: start, byteCount: range.count)
            return
        }
        let offset = start - base
        var done = 0
        while done < range.count {
            let n = pread(descriptor, target + done, range.count - done, off_t(offset + done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw GGUFError.readFailed(offset: offset + done, reason: n == 0 ? "end of file" : String(cString: strerror(errno)))
            }
            done += n
        }
    }

    /// Drops the resident pages of the mapping that `range` (a view into `buffer`) touches,
    /// so that bytes already copied into another form stop counting as the process's memory.
    /// The mapping is private, read only and never written, so MADV_DONTNEED loses nothing:
    /// a later read faults the page back in from the file (or the page cache). Unlike
    /// MADV_PAGEOUT it always takes effect (pages still on a CPU's LRU batch are skipped by
    /// PAGEOUT, which left ~300 MB of the 2B model resident) and costs no I/O. An owned copy
    /// (not a mapping) is left alone: there the advice would zero it.
    func releaseResidentPages(of range: UnsafeRawBufferPointer) {
        advise(range, MADV_DONTNEED)
    }

    /// madvise over the pages `range` (a view into `buffer`) touches, for a mapped file only.
    private func advise(_ range: UnsafeRawBufferPointer, _ advice: Int32) {
        guard isMapped, let base = buffer.baseAddress, let start = range.baseAddress, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapStart = Int(bitPattern: base), mapEnd = mapStart + buffer.count
        let from = max(mapStart, Int(bitPattern: start) / page * page)
        let to = min(mapEnd, Int(bitPattern: start) + range.count)
        guard to > from, let pointer = UnsafeMutableRawPointer(bitPattern: from) else { return }
        // Advice only: a failure leaves the pages as they were, nothing else changes.
        _ = madvise(pointer, to - from, advice)
    }

    deinit {
        guard let base = buffer.baseAddress else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), buffer.count)
            close(descriptor)
        } else {
            base.deallocate()
        }
    }
}
