import CSodium
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an identity could not be created or loaded.
public enum IdentityError: Error, Equatable, CustomStringConvertible {
    case sodiumUnavailable
    case keyFileTooOpen(path: String, mode: UInt32)
    case keyFileMalformed(path: String, reason: String)
    case fileSystem(path: String, operation: String, errno: Int32)
    case badSeedLength(Int)
    case badMeshKey(length: Int)

    public var description: String {
        switch self {
        case .sodiumUnavailable:
            return "libsodium failed to initialise"
        case let .keyFileTooOpen(path, mode):
            return "refusing to use key file \(path): mode \(String(mode & 0o777, radix: 8)) lets group or others read it; run `chmod 600 \(path)`"
        case let .keyFileMalformed(path, reason):
            return "key file \(path) is not a Tern identity: \(reason)"
        case let .fileSystem(path, operation, code):
            return "cannot \(operation) \(path): \(String(cString: strerror(code)))"
        case let .badSeedLength(length):
            return "an Ed25519 seed is 32 bytes, got \(length)"
        case let .badMeshKey(length):
            return "a mesh key is \(MeshID.keyByteCount) bytes, got \(length)"
        }
    }
}

/// This node's Ed25519 key pair. The node id is the public key; the secret never leaves this
/// value except through `sign`, and `description` shows only the fingerprint.
public struct NodeIdentity: Sendable, CustomStringConvertible {
    public static let fileName = "identity.key"
    /// File layout: 8-byte magic then the 32-byte Ed25519 seed (the key pair is derived).
    static let fileMagic: [UInt8] = Array("tern-id1".utf8)
    public static let signatureByteCount = 64

    public let nodeID: NodeID
    let secretKey: [UInt8]  // libsodium's 64-byte form: seed ‖ public key
    private let seed: [UInt8]

    /// Derives the key pair from a 32-byte seed (deterministic; used for files and tests).
    public init(seed: [UInt8]) throws(IdentityError) {
        try Sodium.ensureReady()
        guard seed.count == 32 else { throw .badSeedLength(seed.count) }
        var publicKey = [UInt8](repeating: 0, count: 32)
        var secret = [UInt8](repeating: 0, count: 64)
        crypto_sign_seed_keypair(&publicKey, &secret, seed)
        self.nodeID = NodeID(bytes: publicKey)!
        self.secretKey = secret
        self.seed = seed
    }

    /// A fresh random key pair.
    public static func generate() throws(IdentityError) -> NodeIdentity {
        try Sodium.ensureReady()
        var seed = [UInt8](repeating: 0, count: 32)
        randombytes_buf(&seed, 32)
        return try NodeIdentity(seed: seed)
    }

    /// Loads `identity.key` from `directory`, creating the directory (0700) and a new key
    /// (0600) if there is none. A key file that group or others can read is refused: the
    /// secret may already have leaked, and the operator should decide.
    public static func loadOrCreate(inDirectory directory: String) throws(IdentityError) -> NodeIdentity {
        let path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw .fileSystem(path: directory, operation: "create directory", errno: errno)
        }
        var info = stat()
        if stat(path, &info) == 0 {
            return try load(path: path, mode: UInt32(info.st_mode))
        }
        guard errno == ENOENT else { throw .fileSystem(path: path, operation: "stat", errno: errno) }
        let identity = try generate()
        try identity.store(at: path)
        return identity
    }

    private static func load(path: String, mode: UInt32) throws(IdentityError) -> NodeIdentity {
        guard mode & 0o077 == 0 else { throw .keyFileTooOpen(path: path, mode: mode) }
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .fileSystem(path: path, operation: "open", errno: errno) }
        defer { close(descriptor) }
        let expected = fileMagic.count + 32
        var buffer = [UInt8](repeating: 0, count: expected + 1)
        let count = read(descriptor, &buffer, buffer.count)
        guard count >= 0 else { throw .fileSystem(path: path, operation: "read", errno: errno) }
        guard count == expected else {
            throw .keyFileMalformed(path: path, reason: "expected \(expected) bytes, found \(count == expected + 1 ? "more" : String(count))")
        }
        guard Array(buffer[0..<fileMagic.count]) == fileMagic else {
            throw .keyFileMalformed(path: path, reason: "wrong magic header")
        }
        return try NodeIdentity(seed: Array(buffer[fileMagic.count..<expected]))
    }

    private func store(at path: String) throws(IdentityError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw .fileSystem(path: path, operation: "create", errno: errno) }
        defer { close(descriptor) }
        let contents = Self.fileMagic + seed
        guard write(descriptor, contents, contents.count) == contents.count, fsync(descriptor) == 0 else {
            throw .fileSystem(path: path, operation: "write", errno: errno)
        }
    }

    /// Ed25519 detached signature over `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Self.signatureByteCount)
        crypto_sign_detached(&signature, nil, message, UInt64(message.count), secretKey)
        return signature
    }

    /// Whether `signature` is `signer`'s Ed25519 signature over `message`.
    public static func verify(signature: some Collection<UInt8>, message: some Collection<UInt8>, signer: NodeID) -> Bool {
        guard signature.count == signatureByteCount, (try? Sodium.ensureReady()) != nil else { return false }
        let signatureBytes = Array(signature), messageBytes = Array(message)
        return crypto_sign_verify_detached(signatureBytes, messageBytes, UInt64(messageBytes.count), signer.bytes) == 0
    }

    public var description: String { "NodeIdentity(\(nodeID.fingerprint))" }
}
