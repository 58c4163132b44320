import TernModel
import TernTasks

/// The dispatcher's side of a round: the workers' adapters become one. Each adapter is laid
/// out as one vector (A then B of every site, in site order); the outer optimizer moves the
/// global vector by the token-weighted mean change of the factor the round trained; the
/// frozen factor is checked, not averaged: a worker whose frozen factor moved did not run the
/// job it was given.
public enum RoundAggregation {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case shapeMismatch(result: Int, reason: String)
        case frozenFactorChanged(result: Int)
        case noResults

        public var description: String {
            switch self {
            case let .shapeMismatch(result, reason): "result \(result) does not fit the adapter: \(reason)"
            case let .frozenFactorChanged(result): "result \(result) changed the factor this round froze"
            case .noResults: "a round needs at least one result with tokens"
            }
        }
    }

    /// A, then B, of every site in site order.
    public static func vector(_ adapter: LoRAAdapter) -> [Float] {
        adapter.sites.flatMap { adapter.weights[$0]!.a + adapter.weights[$0]!.b }
    }

    /// The index ranges of `factor` ("A" or "B"; nil: everything) in `vector(adapter)`.
    public static func ranges(of factor: String?, in adapter: LoRAAdapter) -> [Range<Int>] {
        var ranges: [Range<Int>] = [], offset = 0
        for site in adapter.sites {
            let weights = adapter.weights[site]!
            let a = offset..<offset + weights.a.count
            let b = a.upperBound..<a.upperBound + weights.b.count
            switch factor {
            case "A": ranges.append(a)
            case "B": ranges.append(b)
            default: ranges.append(a.lowerBound..<b.upperBound)
            }
            offset = b.upperBound
        }
        return ranges
    }

    /// `template` with its values replaced by `vector`'s (same layout as `vector(_:)`).
    public static func adapter(from vector: [Float], like template: LoRAAdapter) throws -> LoRAAdapter {
        var out = template, offset = 0
        for site in template.sites {
            let weights = template.weights[site]!
            let a = Array(vector[offset..<offset + weights.a.count])
            offset += weights.a.count
            let b = Array(vector[offset..<offset + weights.b.count])
            offset += weights.b.count
            out.weights[site] = try LoRAWeights(inputs: weights.inputs, outputs: weights.outputs, rank: weights.rank, a: a, b: b)
        }
        return out
    }

    /// The next global adapter. `results` are the workers' adapters after the round with the
    /// tokens each trained on, in shard order.
    public static func apply(global: LoRAAdapter, results: [(adapter: LoRAAdapter, tokens: Int)], factor: String?,
                             optimizer: inout OuterOptimizer) throws -> LoRAAdapter {
        let start = vector(global)
        let trained = ranges(of: factor, in: global)
        let frozen = factor.map { ranges(of: $0 == "A" ? "B" : "A", in: global) } ?? []
        var contributions: [PseudoGradient.Contribution] = []
        for (index, result) in results.enumerated() {
            guard result.adapter.sites == global.sites, result.adapter.rank == global.rank, result.adapter.alpha == global.alpha,
                  global.sites.allSatisfy({ site in
                      let (g, r) = (global.weights[site]!, result.adapter.weights[site]!)
                      return (g.inputs, g.outputs, g.rank) == (r.inputs, r.outputs, r.rank)
                  }) else {
                throw Failure.shapeMismatch(result: index, reason: "sites, rank, alpha or shapes differ")
            }
            let end = vector(result.adapter)
            for range in frozen where end[range] != start[range] { throw Failure.frozenFactorChanged(result: index) }
            contributions.append(.init(change: PseudoGradient.change(from: start, to: end)!, tokens: result.tokens))
        }
        guard let mean = PseudoGradient.weightedMean(contributions) else { throw Failure.noResults }
        var next = start
        optimizer.step(&next, meanChange: mean, trained: trained)
        return try adapter(from: next, like: global)
    }
}
