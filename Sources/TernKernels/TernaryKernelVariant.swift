import CTernary

/// Which implementation of the ternary kernels runs. `.best` is what the engine uses; the
/// others exist so tests and benchmarks can compare a variant against the scalar reference.
public enum KernelVariant: String, Sendable, CaseIterable {
    case scalar, avx2, avx512vnni, neon, neonDotprod

    /// The fastest variant this CPU runs, as the calling thread's `KernelClass` allows.
    public static var best: KernelVariant { KernelVariant(raw: tern_variant_best()) }

    /// Variants this CPU can run (scalar always).
    public static var available: [KernelVariant] { allCases.filter(\.isAvailable) }

    public var isAvailable: Bool { tern_variant_available(raw) != 0 }

    var raw: tern_variant {
        switch self {
        case .scalar: TERN_VARIANT_SCALAR
        case .avx2: TERN_VARIANT_AVX2
        case .avx512vnni: TERN_VARIANT_AVX512VNNI
        case .neon: TERN_VARIANT_NEON
        case .neonDotprod: TERN_VARIANT_NEON_DOTPROD
        }
    }

    init(raw: tern_variant) {
        self = KernelVariant.allCases.first { $0.raw == raw } ?? .scalar
    }

    /// The variant itself, or an error naming it when this CPU lacks the instructions.
    func checked() throws -> tern_variant {
        guard isAvailable else { throw TernaryError.variantUnavailable(self) }
        return raw
    }
}

/// Errors of the ternary engine other than shape mismatches (see `TensorShapeError`).
public enum TernaryError: Error, CustomStringConvertible, Equatable {
    /// The engine keeps one scale per row; this row's non-zero blocks carry different ones.
    case mixedBlockScales(encoding: TernaryEncoding, row: Int)
    case variantUnavailable(KernelVariant)

    public var description: String {
        switch self {
        case let .mixedBlockScales(encoding, row):
            "\(encoding.rawValue) row \(row) has blocks with different scales; the ternary engine needs one scale per row"
        case let .variantUnavailable(v):
            "kernel variant \(v.rawValue) is not available on this CPU (available: \(KernelVariant.available.map(\.rawValue).joined(separator: ", ")))"
        }
    }
}
