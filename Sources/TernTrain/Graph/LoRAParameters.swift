import TernKernels

/// The trainable state of a LoRA run: every pair's A and B laid end to end in one float
/// vector, with a gradient vector of the same shape, so the optimizer, gradient clipping
/// and checkpoints treat the whole adapter as one array.
public final class LoRAParameters {
    /// Where one site's matrices live in the flat vectors.
    public struct Slot: Sendable, Equatable {
        public let site: LoRASite
        public let inputs: Int
        public let outputs: Int
        /// Offset of A (rank × inputs) and of B (outputs × rank).
        public let aOffset: Int
        public let bOffset: Int
    }

    public let rank: Int
    public let alpha: Float
    public let slots: [Slot]
    /// The parameters A₀, B₀, A₁, B₁, … in `slots` order.
    public let values: UnsafeMutableBufferPointer<Float>
    /// ∂loss/∂values, accumulated by the training graph until `zeroGradients()`.
    public let gradients: UnsafeMutableBufferPointer<Float>
    private let slotIndex: [LoRASite: Int]

    /// alpha / rank.
    public var scale: Float { alpha / Float(rank) }
    public var count: Int { values.count }

    /// Copies `adapter` into the flat layout (sites in their stable order).
    public init(adapter: LoRAAdapter) throws {
        rank = adapter.rank
        alpha = adapter.alpha
        var slots: [Slot] = []
        var offset = 0
        for site in adapter.sites {
            let w = adapter.weights[site]!
            guard w.rank == adapter.rank else {
                throw LoRAError.shapeMismatch("\(site.baseTensorName) has rank \(w.rank), the adapter \(adapter.rank)")
            }
            slots.append(Slot(site: site, inputs: w.inputs, outputs: w.outputs,
                              aOffset: offset, bOffset: offset + w.rank * w.inputs))
            offset += w.rank * (w.inputs + w.outputs)
        }
        self.slots = slots
        slotIndex = Dictionary(uniqueKeysWithValues: slots.enumerated().map { ($0.element.site, $0.offset) })
        values = .allocate(capacity: max(offset, 1))
        values.initialize(repeating: 0)
        gradients = .allocate(capacity: max(offset, 1))
        gradients.initialize(repeating: 0)
        for slot in slots {
            let w = adapter.weights[slot.site]!
            for (i, x) in w.a.enumerated() { values[slot.aOffset + i] = x }
            for (i, x) in w.b.enumerated() { values[slot.bOffset + i] = x }
        }
    }

    deinit {
        values.deallocate()
        gradients.deallocate()
    }

    /// A fresh adapter for `model` on `targets` of every block: B = 0, A random from `seed`.
    public static func initial(model: TransformerModel, targets: [LoRATarget], rank: Int, alpha: Float,
                               random: inout RandomSource) throws -> LoRAParameters {
        guard rank > 0 else { throw LoRAError.shapeMismatch("rank \(rank) must be positive") }
        var adapter = LoRAAdapter(rank: rank, alpha: alpha)
        for (layer, block) in model.blocks.enumerated() {
            for target in LoRATarget.allCases where targets.contains(target) {
                let base = block.projection(target)
                adapter.weights[LoRASite(layer: layer, target: target)] =
                    LoRAWeights.initial(inputs: base.inputCount, outputs: base.outputCount, rank: rank, random: &random)
            }
        }
        return try LoRAParameters(adapter: adapter)
    }

    public func slot(layer: Int, target: LoRATarget) -> Slot? {
        slotIndex[LoRASite(layer: layer, target: target)].map { slots[$0] }
    }

    /// The current values as an adapter (for writing files).
    public var adapter: LoRAAdapter {
        var adapter = LoRAAdapter(rank: rank, alpha: alpha)
        for slot in slots {
            let a = Array(values[slot.aOffset..<(slot.aOffset + rank * slot.inputs)])
            let b = Array(values[slot.bOffset..<(slot.bOffset + slot.outputs * rank)])
            adapter.weights[slot.site] = try! LoRAWeights(inputs: slot.inputs, outputs: slot.outputs, rank: rank, a: a, b: b)
        }
        return adapter
    }

    public func zeroGradients() { gradients.update(repeating: 0) }

    /// √Σ g², accumulated in double.
    public var gradientNorm: Double {
        var sum = 0.0
        for g in gradients { sum += Double(g) * Double(g) }
        return sum.squareRoot()
    }

    func a(_ slot: Slot) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: values[slot.aOffset..<(slot.aOffset + rank * slot.inputs)])
    }

    func b(_ slot: Slot) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: values[slot.bOffset..<(slot.bOffset + slot.outputs * rank)])
    }

    func gradientA(_ slot: Slot) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: gradients[slot.aOffset..<(slot.aOffset + rank * slot.inputs)])
    }

    func gradientB(_ slot: Slot) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: gradients[slot.bOffset..<(slot.bOffset + slot.outputs * rank)])
    }
}

extension TransformerBlock {
    /// The base projection a LoRA target attaches to.
    public func projection(_ target: LoRATarget) -> Linear {
        switch target {
        case .attentionQuery: query
        case .attentionKey: key
        case .attentionValue: value
        case .attentionOutput: attentionOutput
        case .feedForwardGate: gate
        case .feedForwardUp: up
        case .feedForwardDown: down
        }
    }
}
