import CTernary

/// The hash the layout cache keys and checks files with (`tern_content_hash`): XXH64 of
/// every 1 MiB chunk, computed on the pool, then XXH64 of the chunk hashes. It runs at
/// memory speed, so a 792 MB model is re-hashed on every load for about 0.1 s where BLAKE2b
/// would take about a second. Not cryptographic: it tells a changed, torn or corrupt file
/// from the one hashed before, not a forgery from an original.
public enum ContentHash {
    public static func of(_ bytes: UnsafeRawBufferPointer, pool: ThreadPool?) -> UInt64 {
        tern_content_hash(pool?.raw, bytes.baseAddress, bytes.count)
    }
}
