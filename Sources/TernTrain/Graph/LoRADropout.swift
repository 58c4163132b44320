import TernSupport
import TernKernels

/// Inverted dropout on the input of every LoRA branch (PEFT's `lora_dropout`):
/// y = W·x + s·B·A·drop(x), drop(x) = x·mask/(1−p), while training only; the base product
/// reads the undropped x, and validation and inference never drop.
///
/// The mask holds no generator state: whether element (token, input) of a site's input is
/// kept is a hash of (seed, optimizer step, micro-batch, site, token, input). Activation
/// recomputation and the backward pass regenerate exactly the forward's mask, and a resumed
/// run draws the same masks as one that never stopped, without saving any random state.
public struct LoRADropout: Sendable, Equatable {
    /// The probability p that an input element is dropped, in [0, 1).
    public let probability: Float
    public let seed: UInt64

    public init(probability: Float, seed: UInt64) throws {
        guard probability >= 0, probability < 1 else {
            throw TrainingError.invalidOption("dropout \(probability) must be in [0, 1)")
        }
        self.probability = probability
        self.seed = seed
    }

    /// The mask of micro-batch `microBatch` (the sequence's index within the step) of
    /// optimizer step `step` (0-based).
    public func mask(step: Int, microBatch: Int) -> DropoutMask {
        DropoutMask(probability: probability,
                    key: Self.mix(Self.mix(Self.mix(seed) ^ UInt64(truncatingIfNeeded: step)) ^ UInt64(truncatingIfNeeded: microBatch)))
    }

    /// SplitMix64's output function (see `SplitMix64.mix`).
    static func mix(_ x: UInt64) -> UInt64 { SplitMix64.mix(x) }
}

/// One micro-batch's dropout mask over every LoRA site: a pure function of its key.
public struct DropoutMask: Sendable, Equatable {
    public let probability: Float
    let key: UInt64

    /// An element is kept when its 32-bit hash lane is at least p·2³², so the keep rate is
    /// 1 − p to within 2⁻³².
    private var threshold: UInt32 { UInt32(min(Double(probability) * 4_294_967_296, 4_294_967_295)) }

    /// Whether input element `input` of token `token` reaching `site` survives.
    public func keeps(site: LoRASite, token: Int, input: Int) -> Bool {
        let word = LoRADropout.mix(siteKey(site) ^ Self.counter(token: token, pair: input >> 1))
        return UInt32(truncatingIfNeeded: input & 1 == 0 ? word : word >> 32) >= threshold
    }

    /// values[t][i] ← values[t][i]·mask/(1−p) for a tokens × width matrix that feeds `site`:
    /// drop(x) in the forward pass, and d drop(x)/dx applied to a gradient in the backward.
    /// Rows are split over `pool` (each element's factor depends only on its indices).
    public func apply(to values: UnsafeMutableBufferPointer<Float>, tokens: Int, width: Int, site: LoRASite,
                      pool: ThreadPool? = nil) throws {
        guard tokens >= 0, width >= 0, values.count >= tokens * width else {
            throw TrainingError.shapeMismatch("dropout over \(tokens)×\(width) values of \(site.baseTensorName), \(values.count) given")
        }
        guard let base = values.baseAddress, tokens > 0 else { return }
        let tasks = min(tokens, 4 * (pool?.threadCount ?? 1))
        PoolTasks.run(pool, tasks: tasks) { task, _ in
            applyRows(base, rows: stride(from: task, to: tokens, by: tasks), width: width, site: site)
        }
    }

    private func applyRows(_ base: UnsafeMutablePointer<Float>, rows: StrideTo<Int>, width: Int, site: LoRASite) {
        let key = siteKey(site), threshold = threshold, scale = 1 / (1 - probability)
        for t in rows {
            let row = base + t * width
            var i = 0
            while i < width {
                let word = LoRADropout.mix(key ^ Self.counter(token: t, pair: i >> 1))
                row[i] *= UInt32(truncatingIfNeeded: word) >= threshold ? scale : 0
                if i + 1 < width { row[i + 1] *= UInt32(truncatingIfNeeded: word >> 32) >= threshold ? scale : 0 }
                i += 2
            }
        }
    }

    /// Each site draws its own mask (PEFT gives every adapted module its own dropout), so
    /// Q, K and V, which read the same input, drop different elements.
    private func siteKey(_ site: LoRASite) -> UInt64 {
        let targetIndex = LoRATarget.allCases.firstIndex(of: site.target)!
        return LoRADropout.mix(key ^ UInt64(truncatingIfNeeded: site.layer * LoRATarget.allCases.count + targetIndex))
    }

    /// One hash serves two adjacent inputs (its low and high 32 bits).
    private static func counter(token: Int, pair: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: token) << 32 | UInt64(truncatingIfNeeded: pair)
    }
}
