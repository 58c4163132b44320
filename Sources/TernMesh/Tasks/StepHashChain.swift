import CSodium

/// A hash chain over the results of a job's steps, in order:
/// h₀ = BLAKE2b-256("tern/steps/1"), hᵢ₊₁ = BLAKE2b-256(hᵢ ‖ result hash of step i).
///
/// A receipt carries only the root, yet it commits the worker to every intermediate result:
/// a verifier that re-runs any prefix of the job can compare its own chain step by step, and
/// a worker cannot change one step's result without changing the root it signed.
public struct StepHashChain: Sendable, Equatable {
    static let seed: [UInt8] = Sodium.blake2b(Array("tern/steps/1".utf8))

    /// hᵢ after `count` steps (h₀ for none).
    public private(set) var root: [UInt8]
    /// Steps appended so far.
    public private(set) var count: Int

    public init() {
        root = Self.seed
        count = 0
    }

    /// Extends the chain by one step. `stepResult` is the step's result hash (32 bytes from
    /// `digest`, by convention); h is fixed-length, so the concatenation is unambiguous.
    public mutating func append(_ stepResult: [UInt8]) {
        root = Sodium.blake2b(root + stepResult)
        count += 1
    }

    /// BLAKE2b-256 of `bytes`: how a step's result (and a job's canonical options) is hashed
    /// before it enters a chain or a receipt.
    public static func digest(_ bytes: [UInt8]) -> [UInt8] { Sodium.blake2b(bytes) }

    /// BLAKE2b-256 of raw memory, for results too large to copy into an array first (a
    /// training step's parameters).
    public static func digest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: 32)
        crypto_generichash(&out, 32, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count), nil, 0)
        return out
    }
}
