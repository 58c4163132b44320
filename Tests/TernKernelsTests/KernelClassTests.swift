import CTernary
import Foundation
import Testing
import TernKernels

/// One float GEMM and two block-quantized matmuls, and what `variant` computes for them.
private struct Products: Sendable {
    static let n = 5, inner = 256, out = 40
    let x: [Float]
    let float32: FloatMatrix
    let float16: FloatMatrix
    let q8: BlockQuantMatrix
    let q4: BlockQuantMatrix

    init(seed: UInt64) throws {
        var rng = KernelTestRandom(seed: seed)
        x = rng.floats(Self.n * Self.inner)
        let w = rng.floats(Self.out * Self.inner, scale: 0.5)
        float32 = try FloatMatrix(rows: Self.out, cols: Self.inner, values: w)
        float16 = try FloatMatrix(rows: Self.out, cols: Self.inner, values: w, as: .f16)
        q8 = try BlockQuantMatrix(format: .q8_0, rows: Self.out, cols: Self.inner,
                                  copying: w.withUnsafeBufferPointer { try BlockQuantKernels.quantizeQ8_0($0) })
        q4 = try BlockQuantMatrix(format: .q4_1, rows: Self.out, cols: Self.inner,
                                  copying: randomBlocks(.q4_1, rows: Self.out, cols: Self.inner, rng: &rng))
    }

    /// The outputs of every product, concatenated: float ones with `float`, quantized ones with `quant`.
    func run(float: FloatKernelVariant, quant: FloatKernelVariant, pool: ThreadPool? = nil) throws -> [Float] {
        var all: [Float] = []
        for w in [float32, float16] {
            all += try kernelOutput(count: Self.n * Self.out) { y in
                try x.withUnsafeBufferPointer { try FloatKernels.matmul($0, rows: Self.n, weights: w, into: y, pool: pool, variant: float) }
            }
        }
        for w in [q8, q4] {
            all += try kernelOutput(count: Self.n * Self.out) { y in
                try x.withUnsafeBufferPointer { try BlockQuantKernels.matmul($0, rows: Self.n, weights: w, into: y, pool: pool, variant: quant) }
            }
        }
        return all
    }

    func automatic(pool: ThreadPool? = nil) throws -> [Float] { try run(float: .automatic, quant: .automatic, pool: pool) }
    func explicit(_ cls: KernelClass, pool: ThreadPool? = nil) throws -> [Float] {
        try run(float: cls.floatVariant, quant: cls.quantVariant, pool: pool)
    }
}

private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// Failures seen on threads the test started.
private final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []
    func add(_ entry: String) { lock.withLock { entries.append(entry) } }
    var all: [String] { lock.withLock { entries } }
}

@Suite struct KernelClassTests {
    @Test func namesRoundTrip() {
        for cls in KernelClass.all {
            #expect(KernelClass(name: cls.name) == cls)
            #expect("\(cls)" == cls.name)
            #expect(!cls.name.isEmpty && cls.name.utf8.count <= 32 && cls.name.utf8.allSatisfy { (0x21...0x7E).contains($0) })
        }
        #expect(Set(KernelClass.all.map(\.name)).count == KernelClass.all.count)
        #expect(KernelClass(name: "avx512-bf16-vnni") == .avx512BF16VNNI)
        for unknown in ["", "AVX2", "avx512-vnni-bf16", "sve2"] { #expect(KernelClass(name: unknown) == nil) }
    }

    @Test func theNativeClassRunsHereAndIsWhatAutomaticPicks() throws {
        let native = KernelClass.native
        #expect(native.isRunnable && KernelClass.scalar.isRunnable)
        #expect(KernelClass.current == native)
        #expect(KernelClass.runnable.first == native)
        #expect(FloatKernelVariant.bestFloat == native.floatVariant)
        let products = try Products(seed: 1)
        #expect(bits(try products.automatic()) == bits(try products.explicit(native)))
        #expect(bits(try KernelClass.withCurrent(native) { try products.automatic() }) == bits(try products.automatic()))
    }

    @Test func aClassThisCPUCannotRunIsRefused() throws {
        let foreign = KernelClass.all.filter { !$0.isRunnable }
        #expect(!foreign.isEmpty)  // NEON on x86, AVX on ARM
        for cls in foreign {
            #expect(throws: KernelClassError.notRunnable(cls)) { try KernelClass.withCurrent(cls) {} }
        }
        #expect(KernelClass.current == .native)
    }

    /// Under an override every automatic float and block-quant product gives exactly the bits
    /// of the class's explicit variants (on the calling thread and on pool workers).
    @Test(arguments: KernelClass.runnable)
    func automaticKernelsRunAsTheForcedClass(cls: KernelClass) throws {
        let products = try Products(seed: 2)
        let pool = ThreadPool(threads: 2)
        let expected = bits(try products.explicit(cls))
        try KernelClass.withCurrent(cls) {
            #expect(KernelClass.current == cls)
            #expect(FloatKernelVariant.bestFloat == cls.floatVariant)
            #expect(bits(try products.automatic()) == expected, "\(cls)")
            #expect(bits(try products.automatic(pool: pool)) == expected, "\(cls) on a pool")
            try KernelClass.withCurrent(.scalar) { #expect(KernelClass.current == .scalar) }
            #expect(KernelClass.current == cls)
        }
        #expect(KernelClass.current == .native)
        if cls.floatVariant != KernelClass.native.floatVariant {
            #expect(bits(try products.automatic()) != expected, "\(cls) rounds like \(KernelClass.native)")
        }
    }

    /// AVX-512 with and without BF16 dot products round BF16-weight products differently:
    /// that is why they are two classes.
    @Test func bf16DotProductsAreTheirOwnClass() throws {
        guard KernelClass.avx512BF16.isRunnable else { return }
        var rng = KernelTestRandom(seed: 3)
        let x = rng.floats(3 * 96)
        let w = try FloatMatrix(rows: 20, cols: 96, values: rng.floats(20 * 96), as: .bf16)
        func product() throws -> [Float] {
            try kernelOutput(count: 3 * 20) { y in try x.withUnsafeBufferPointer { try FloatKernels.matmul($0, rows: 3, weights: w, into: y) } }
        }
        let withBF16 = try KernelClass.withCurrent(.avx512BF16) { try product() }
        let without = try KernelClass.withCurrent(.avx512) { try product() }
        #expect(bits(withBF16) != bits(without))
        #expect(bits(try KernelClass.withCurrent(.avx512BF16VNNI) { try product() }) == bits(withBF16))
        #expect(bits(try KernelClass.withCurrent(.avx512VNNI) { try product() }) == bits(without))
    }

    /// A kernel called with `.automatic` from inside a pool task resolves on a pool worker;
    /// the pool hands the caller's override to its workers.
    @Test func poolTasksInheritTheCallersClass() throws {
        let products = try Products(seed: 4)
        let pool = ThreadPool(threads: 2)
        /// Each task writes only its own slot of `matched`.
        final class Job {
            let products: Products, expected: [UInt32]
            let matched = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 8)
            init(_ products: Products, expected: [UInt32]) {
                self.products = products; self.expected = expected
                matched.initialize(repeating: false)
            }
            deinit { matched.deallocate() }
        }
        let job = Job(products, expected: bits(try products.explicit(.scalar)))
        try KernelClass.withCurrent(.scalar) {
            tern_pool_run(pool.raw, 8, { context, task, _ in
                let job = Unmanaged<Job>.fromOpaque(context!).takeUnretainedValue()
                job.matched[Int(task)] = (try? job.products.automatic()).map(bits) == job.expected
            }, Unmanaged.passUnretained(job).toOpaque())
        }
        #expect(job.matched.allSatisfy { $0 })
    }

    /// Two threads share one pool: the one that forces `scalar` gets scalar bits while the
    /// other, at the same time, keeps the native class.
    @Test func anOverrideHoldsOnlyForItsOwnThread() throws {
        let products = try Products(seed: 5)
        let pool = ThreadPool(threads: 2)
        let forced = KernelClass.scalar, native = KernelClass.native
        let expected = [true: bits(try products.explicit(forced)), false: bits(try products.explicit(native))]
        let failures = FailureLog()
        let done = DispatchGroup()
        for forcing in [true, false] {
            done.enter()
            Thread {
                defer { done.leave() }
                for round in 0..<40 {
                    do {
                        let (y, seen) = forcing
                            ? try KernelClass.withCurrent(forced) { (try products.automatic(pool: pool), KernelClass.current) }
                            : (try products.automatic(pool: pool), KernelClass.current)
                        if bits(y) != expected[forcing] || seen != (forcing ? forced : native) {
                            failures.add("round \(round), \(forcing ? "forced" : "native") thread: saw \(seen)")
                        }
                    } catch {
                        failures.add("round \(round): \(error)")
                    }
                }
            }.start()
        }
        done.wait()
        #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
    }
}
