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

    /// BLAKE2b (`crypto_generichash`) of `bytes`, `length` bytes long (16…64), keyed when
    /// `key` is not empty (16…64 bytes). Hashing waits for `sodium_init`, which also picks the
    /// fastest BLAKE2b this CPU runs (blob hashing needs it).
    static func blake2b(_ bytes: [UInt8], key: [UInt8] = [], length: Int = 32) -> [UInt8] {
        precondition(length >= 16 && length <= 64, "BLAKE2b output length out of range")
        precondition(key.isEmpty || (key.count >= 16 && key.count <= 64), "BLAKE2b key length out of range")
        ensureInitialized()
        var out = [UInt8](repeating: 0, count: length)
        _ = bytes.withUnsafeBufferPointer { input in
            key.withUnsafeBufferPointer { keyBytes in
                crypto_generichash(&out, length, input.baseAddress, UInt64(input.count),
                                   key.isEmpty ? nil : keyBytes.baseAddress, key.count)
            }
        }
        return out
    }

    /// BLAKE2b-256 of raw memory (a file chunk read into a reused buffer), without copying it
    /// into an array first.
    static func blake2b(_ buffer: UnsafeRawBufferPointer) -> [UInt8] {
        ensureInitialized()
        var out = [UInt8](repeating: 0, count: 32)
        crypto_generichash(&out, 32, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(buffer.count), nil, 0)
        return out
    }
}

/// Lowercase hexadecimal, the one encoding of bytes for people (ids, tokens, hashes).
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of an even-length hex string (either case), or nil.
    public static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case 48...57: digit - 48
            case 97...102: digit - 87
            case 65...70: digit - 55
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }
}
