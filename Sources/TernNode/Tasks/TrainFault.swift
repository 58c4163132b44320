/// How a worker built for a test of verification lies about a train job. Each lie is one a
/// real cheat could tell, and each is caught by a different check of the requester's.
public enum TrainFault: String, Sendable, Equatable, CaseIterable {
    /// Moves one trained parameter a little after the middle step and trains on from there:
    /// the step hashes, the receipt and the adapter agree with each other, so only a
    /// re-execution catches it, and it finds the step where the runs part.
    case perturbUpdate = "perturb-update"
    /// Returns an adapter other than the one its signed step chain ends in: the requester
    /// refuses it before countersigning, without re-running anything.
    case tamperOutput = "tamper-output"
}
