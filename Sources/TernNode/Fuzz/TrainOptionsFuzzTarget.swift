import TernMesh

/// `tern fuzz train-options`: the options of a `train` job as a worker receives them from a
/// requester, through `TrainJobOptions(canonicalBytes:)` (which also validates them).
///
/// Invariant: the encoding is canonical, so options that decode re-encode to exactly the input.
public struct TrainOptionsFuzzTarget: FuzzTarget {
    public let name = "train-options"
    public let samples: [[UInt8]]

    public init() {
        samples = [
            TrainJobOptions(steps: 20, learningRate: 5e-4, rank: 8, alpha: 16, modules: ["attn_q", "attn_v"],
                            sequenceLength: 128, batchSize: 4, seed: 42).canonicalBytes(),
            TrainJobOptions(steps: 1, learningRate: 0.01, rank: 2, alpha: 4, modules: ["ffn_down"], sequenceLength: 16,
                            batchSize: 1, seed: 0, trainFactor: "B", format: "chat", shardStart: 120, shardLength: 60)
                .canonicalBytes(),
        ]
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        let options: TrainJobOptions
        do {
            options = try TrainJobOptions(canonicalBytes: input)
        } catch let error as WireError {
            return .rejected(error.fuzzLabel)
        } catch {
            return .rejected("invalidOption")
        }
        guard options.canonicalBytes() == input else { return .violation("train options do not re-encode to their input") }
        return .accepted(options.shardStart == nil ? "whole" : "shard")
    }
}
