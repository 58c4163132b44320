import CSodium

/// libsodium needs `sodium_init()` once per process before any other call; Swift's lazy,
/// thread-safe static initialisation gives exactly that.
enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    static func ensureReady() throws(IdentityError) {
        guard initialised else { throw .sodiumUnavailable }
    }

    /// For paths that have no error to report (key exchange on an already-built identity):
    /// by then `ensureReady` has succeeded, or libsodium is unusable and nothing can proceed.
    static func ensureInitialized() {
        precondition(initialised, "libsodium failed to initialise")
    }

    /// BLAKE2b (`crypto_generichash`) of `bytes`, `length` bytes long (16…64).
    static func blake2b(_ bytes: [UInt8], length: Int = 32) -> [UInt8] {
        precondition(length >= 16 && length <= 64, "BLAKE2b output length out of range")
        var out = [UInt8](repeating: 0, count: length)
        _ = bytes.withUnsafeBufferPointer { input in
            crypto_generichash(&out, length, input.baseAddress, UInt64(input.count), nil, 0)
        }
        return out
    }
}
