/// One of the two matrices of every LoRA pair: A (rank × inputs) or B (outputs × rank).
/// A run that trains only one factor keeps the other frozen, as RoLoRA alternates them:
/// averaging two peers' A (or B) updates is then exact, since ΔW = B·A is linear in each.
public enum LoRAFactor: String, Sendable, Codable, CaseIterable {
    case a = "A"
    case b = "B"

    public var other: LoRAFactor { self == .a ? .b : .a }
}

extension LoRAParameters {
    /// Where `factor` lives in `values` and `gradients`: one range per site, in slot order.
    public func ranges(of factor: LoRAFactor) -> [Range<Int>] {
        slots.map { slot in
            factor == .a ? slot.aOffset..<(slot.aOffset + rank * slot.inputs) : slot.bOffset..<(slot.bOffset + slot.outputs * rank)
        }
    }
}
