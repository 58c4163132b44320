import CTernary

/// The hash the layout cache keys and checks files with (`tern_content_hash`): XXH64 of
/// every 1 MiB chunk, computed on the pool, then XXH64 of the chunk hashes. It runs at
/// memory speed, so a 792 MB model is re-hashed on every load in 0.1–0.2 s where BLAKE2b
/// would take about a second. Not cryptographic: it tells a changed, torn or corrupt file
/// from the one hashed before, not a forgery from an original.
public enum ContentHash {
    public static func of(_ bytes: UnsafeRawBufferPointer, pool: ThreadPool?) -> UInt64 {
        tern_content_hash(pool?.raw, bytes.baseAddress, bytes.count)
    }

    /// The hash of the first `count` bytes of the open file `descriptor`, read with pread
    /// (nothing is mapped, so nothing becomes resident). Nil when a read fails; `errno` says why.
    public static func ofFile(descriptor: Int32, count: Int, pool: ThreadPool?) -> UInt64? {
        var hash: UInt64 = 0
        return tern_content_hash_file(pool?.raw, descriptor, count, &hash) == 0 ? hash : nil
    }
}
