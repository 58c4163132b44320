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

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
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
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw GGUFError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        buffer = UnsafeRawBufferPointer(start: base, count: size)
        isMapped = true
    }

    init(copying bytes: [UInt8]) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { src in
            if let base = src.baseAddress { storage.baseAddress!.copyMemory(from: base, byteCount: src.count) }
        }
        buffer = UnsafeRawBufferPointer(start: storage.baseAddress, count: bytes.count)
        isMapped = false
    }

    /// Drops the resident pages of the mapping that `range` (a view into `buffer`) touches,
    /// so that bytes already copied into another form stop counting as the process's memory.
    /// The mapping is private, read only and never written, so MADV_DONTNEED loses nothing:
    /// a later read faults the page back in from the file (or the page cache). Unlike
    /// MADV_PAGEOUT it always takes effect (pages still on a CPU's LRU batch are skipped by
    /// PAGEOUT, which left ~300 MB of the 2B model resident) and costs no I/O. An owned copy
    /// (not a mapping) is left alone: there the advice would zero it.
    func releaseResidentPages(of range: UnsafeRawBufferPointer) {
        guard isMapped, let base = buffer.baseAddress, let start = range.baseAddress, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapStart = Int(bitPattern: base), mapEnd = mapStart + buffer.count
        let from = max(mapStart, Int(bitPattern: start) / page * page)
        let to = min(mapEnd, Int(bitPattern: start) + range.count)
        guard to > from, let pointer = UnsafeMutableRawPointer(bitPattern: from) else { return }
        // Advice only: a failure leaves the pages resident, nothing else changes.
        _ = madvise(pointer, to - from, MADV_DONTNEED)
    }

    deinit {
        guard let base = buffer.baseAddress else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), buffer.count)
        } else {
            base.deallocate()
        }
    }
}
