import CTernary

/// The kernel choices that decide the bits a product gives, named so that peers can compare
/// them: for the same inputs, two machines of one class compute bit-identical float, block-
/// quantized and ternary results (for any thread count), while two classes may round
/// differently. A dispatcher that re-executes a worker's training shard to check it must
/// run it in the worker's class (`withCurrent`).
///
/// A class fixes what `.automatic` (and `KernelVariant.best`) resolve to: the float variant,
/// whether AVX-512 multiplies BF16 weights with `vdpbf16ps` (which rounds the activations
/// to BF16 first: `-bf16`), and whether the block-quantized products use AVX-512 VNNI or
/// AVX2 (`-vnni`). Ternary products are exact integer sums, the same bits in every
/// variant, so they split no class; NEON's dot-product extension only speeds up such
/// exact sums, so `neon` runs with or without it.
public struct KernelClass: Hashable, Sendable, CustomStringConvertible {
    /// Stable name, at most 32 bytes of printable ASCII (it is published in the signed
    /// hardware profile).
    public let name: String
    /// The variant `.automatic` float kernels resolve to in this class.
    public let floatVariant: FloatKernelVariant
    /// The variant `.automatic` block-quantized products resolve to in this class.
    public let quantVariant: FloatKernelVariant
    /// The CPU features automatic choices may use in this class (the thread override).
    let features: CPUFeatures

    private init(_ name: String, _ features: CPUFeatures, float: FloatKernelVariant, quant: FloatKernelVariant) {
        self.name = name
        self.features = features
        floatVariant = float
        quantVariant = quant
    }

    private static let avx512Base: CPUFeatures = [.avx2, .avx512f, .avx512bw]

    public static let scalar = KernelClass("scalar", [], float: .scalar, quant: .scalar)
    public static let avx2 = KernelClass("avx2", [.avx2], float: .avx2, quant: .avx2)
    public static let avx512 = KernelClass("avx512", avx512Base, float: .avx512, quant: .avx2)
    public static let avx512VNNI = KernelClass("avx512-vnni", avx512Base.union(.avx512vnni), float: .avx512, quant: .avx512)
    public static let avx512BF16 = KernelClass("avx512-bf16", avx512Base.union(.avx512bf16), float: .avx512, quant: .avx2)
    public static let avx512BF16VNNI = KernelClass("avx512-bf16-vnni", avx512Base.union([.avx512bf16, .avx512vnni]),
                                                   float: .avx512, quant: .avx512)
    public static let neon = KernelClass("neon", [.neon, .dotprod], float: .neon, quant: .neon)

    /// Every class, the fastest first.
    public static let all: [KernelClass] = [avx512BF16VNNI, avx512VNNI, avx512BF16, avx512, avx2, neon, scalar]

    /// The class of `name`, or nil for a name this build does not know.
    public init?(name: String) {
        guard let known = Self.all.first(where: { $0.name == name }) else { return nil }
        self = known
    }

    /// Whether this CPU can run the class (`scalar` always can).
    public var isRunnable: Bool {
        CPUFeatures.current.isSuperset(of: features.subtracting(.dotprod))
    }

    /// The classes this CPU can run, the fastest first.
    public static var runnable: [KernelClass] { all.filter(\.isRunnable) }

    /// What `.automatic` resolves to on this CPU without an override: the class this node
    /// publishes and trains in.
    public static var native: KernelClass { runnable.first ?? .scalar }

    /// What `.automatic` resolves to on the calling thread now: the class set by an
    /// enclosing `withCurrent`, otherwise `native`.
    public static var current: KernelClass {
        let override = tern_dispatch_override_get()
        return all.first { $0.features.rawValue == override } ?? native
    }

    /// Runs `body` on the calling thread with every automatic kernel choice made as in
    /// `cls`, including those of kernel-pool tasks it starts; other threads keep their own
    /// class. `body` is synchronous so that it cannot resume on another thread. Nests.
    /// - Throws: `KernelClassError.notRunnable` when this CPU cannot run `cls`.
    public static func withCurrent<Result>(_ cls: KernelClass, _ body: () throws -> Result) throws -> Result {
        guard cls.isRunnable else { throw KernelClassError.notRunnable(cls) }
        let previous = tern_dispatch_override_set(cls.features.rawValue)
        defer { tern_dispatch_override_set(previous) }
        return try body()
    }

    public var description: String { name }
}

public enum KernelClassError: Error, Equatable, CustomStringConvertible {
    case notRunnable(KernelClass)

    public var description: String {
        switch self {
        case let .notRunnable(cls):
            "kernel class \(cls.name) cannot run on this CPU (it runs: \(KernelClass.runnable.map(\.name).joined(separator: ", ")))"
        }
    }
}
