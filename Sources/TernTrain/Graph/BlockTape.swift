/// The activations of one block that its backward pass reads, for up to `capacity` tokens.
/// Whatever is cheap to recompute (the norms' outputs, the gated product) is not kept.
final class BlockTape {
    /// The residual stream after the attention half: X + attn_output(…).
    let afterAttention: TrainingBuffer
    /// Q and K after RoPE, V, and the attention output before any sub-norm.
    let query, key, value, attention: TrainingBuffer
    /// The FFN's gate and up projections before the activation.
    let gate, up: TrainingBuffer
    /// u = x·Aᵀ of every LoRA site of the block (capacity × rank).
    let lowRank: [LoRATarget: TrainingBuffer]

    init(parameters hp: ModelHyperParameters, capacity: Int, targets: Set<LoRATarget>, rank: Int) {
        let e = hp.embeddingLength, kv = hp.headCountKV * hp.headDimension, ff = hp.feedForwardLength
        afterAttention = TrainingBuffer(count: capacity * e)
        query = TrainingBuffer(count: capacity * e)
        key = TrainingBuffer(count: capacity * kv)
        value = TrainingBuffer(count: capacity * kv)
        attention = TrainingBuffer(count: capacity * e)
        gate = TrainingBuffer(count: capacity * ff)
        up = TrainingBuffer(count: capacity * ff)
        lowRank = Dictionary(uniqueKeysWithValues: targets.map { ($0, TrainingBuffer(count: capacity * rank)) })
    }

    /// Bytes one tape holds (for choosing whether to recompute).
    static func byteCount(parameters hp: ModelHyperParameters, capacity: Int, targets: Int, rank: Int) -> Int {
        let e = hp.embeddingLength, kv = hp.headCountKV * hp.headDimension, ff = hp.feedForwardLength
        return 4 * capacity * (4 * e + 2 * kv + 2 * ff + targets * rank)
    }
}
