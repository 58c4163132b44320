import Foundation

/// One candidate next token and its log-probability under the full vocabulary.
public struct RankedToken: Sendable, Equatable, Encodable {
    public let id: Int32
    public let logProbability: Double

    public init(id: Int32, logProbability: Double) {
        self.id = id
        self.logProbability = logProbability
    }

    /// `[id, log_prob]`, the pair form of the reference logits files.
    public func encode(to encoder: Encoder) throws {
        var pair = encoder.unkeyedContainer()
        try pair.encode(id)
        try pair.encode(logProbability)
    }
}

/// The `k` most likely next tokens of one row of logits, most likely first (ties: lower
/// id first), with log-softmax over the whole row computed in double precision.
public func topLogProbabilities(_ logits: ArraySlice<Float>, k: Int) -> [RankedToken] {
    guard k > 0, let maxLogit = logits.max() else { return [] }
    let shift = Double(maxLogit)
    let logSum = log(logits.reduce(0.0) { $0 + exp(Double($1) - shift) }) + shift
    var best: [(id: Int, logit: Float)] = []
    best.reserveCapacity(k + 1)
    for (offset, logit) in logits.enumerated() {
        guard best.count < k || logit > best[best.count - 1].logit else { continue }
        let at = best.firstIndex { logit > $0.logit } ?? best.count
        best.insert((offset, logit), at: at)
        if best.count > k { best.removeLast() }
    }
    return best.map { RankedToken(id: Int32($0.id), logProbability: Double($0.logit) - logSum) }
}
