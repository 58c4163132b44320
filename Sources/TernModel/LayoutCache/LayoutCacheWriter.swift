import TernKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a layout cache file atomically: everything goes to a temporary file in the same
/// directory, which is renamed over `path` only once complete, so a reader sees the old
/// file, the new one or none, never a partial one. There is no fsync: a file torn by a
/// crash fails its hashes on the next load and is rebuilt, which is cheaper than syncing
/// half a gigabyte on every cold load.
enum LayoutCacheWriter {
    /// One matrix to store: its bytes stay owned by the caller during the write.
    struct Item {
        var kind: LayoutCacheFormat.Kind
        var name: String
        var rows: Int
        var cols: Int
        var bytes: UnsafeRawBufferPointer
    }

    struct WriteError: Error, CustomStringConvertible {
        let description: String
    }

    static func write(_ items: [Item], modelSize: Int, modelHash: UInt64, to path: String, pool: ThreadPool?) throws {
        typealias F = LayoutCacheFormat
        // The table's size does not depend on offsets or hashes, so lay it out once with zeros.
        var entries = items.map { F.Entry(kind: $0.kind, name: $0.name, rows: $0.rows, cols: $0.cols, offset: 0,
                                          byteCount: $0.bytes.count, hash: 0) }
        let tableBytes = F.encodeTable(entries).count
        let payloadOffset = F.align(F.headerBytes + tableBytes, F.payloadAlignment)
        var offset = payloadOffset
        for i in entries.indices {
            entries[i].offset = offset
            entries[i].hash = ContentHash.of(items[i].bytes, pool: pool)
            offset = F.align(offset + items[i].bytes.count, F.entryAlignment)
        }
        let fileSize = entries.last.map { $0.offset + $0.byteCount } ?? payloadOffset
        let table = F.encodeTable(entries)
        let header = F.encodeHeader(F.Header(modelSize: modelSize, modelHash: modelHash, tableBytes: table.count,
                                             payloadOffset: payloadOffset, fileSize: fileSize, entryCount: entries.count),
                                    table: table)

        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do {
            try (header + table).withUnsafeBytes { try writeAll(fd, $0, at: 0, path: temporary) }
            for (entry, item) in zip(entries, items) { try writeAll(fd, item.bytes, at: entry.offset, path: temporary) }
            guard ftruncate(fd, off_t(fileSize)) == 0 else { throw failure("cannot size", temporary) }
            closed = true
            guard close(fd) == 0 else { throw failure("cannot close", temporary) }
            guard rename(temporary, path) == 0 else { throw failure("cannot rename to \(path)", temporary) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw failure("cannot write", path) }
            done += n
        }
    }

    private static func failure(_ what: String, _ path: String) -> WriteError {
        WriteError(description: "\(what) \(path): \(String(cString: strerror(errno)))")
    }
}
