import Foundation

/// Tunables of SWIM + Lifeguard. Defaults follow the SWIM and Lifeguard papers and
/// HashiCorp memberlist's LAN profile, with a one-second protocol period.
public struct SWIMSettings: Sendable {
    /// One probe per period (stretched by the local health multiplier).
    public var protocolPeriodMillis: UInt64 = 1_000
    /// How long to wait for a direct ack before asking others to probe (also stretched).
    public var probeTimeoutMillis: UInt64 = 500
    /// How many members are asked to probe indirectly (SWIM's k).
    public var indirectProbes = 3
    /// Suspicion timeout bounds, Lifeguard: min = α·log10(n)·period, max = β·min.
    public var suspicionAlpha: Double = 5
    public var suspicionBeta: Double = 6
    /// Independent suspicions after which the timeout has shrunk to its minimum (Lifeguard's K).
    public var suspicionConfirmations = 3
    /// Each update is piggybacked λ·⌈log10(n+1)⌉ times by each node that relays it.
    public var retransmitMultiplier = 4
    /// Local health multiplier ceiling (Lifeguard's S): intervals stretch up to this factor.
    public var maxLocalHealth = 8
    /// Emit a push-pull anti-entropy directive every this many probe periods (0: never),
    /// stretched in groups above 32 members (see `pushPullPeriods`).
    public var pushPullEveryPeriods = 30
    /// Byte budget for piggybacked updates and profiles in one message.
    public var maxPiggybackBytes = 600
    /// Updates waiting to be gossiped beyond this are dropped, most-sent first.
    public var maxQueuedBroadcasts = 1_024
    /// Check record and profile signatures on receipt. Only the simulator, whose nodes do
    /// not sign, turns this off.
    public var verifySignatures = true
    /// Distinct members whose dead records declare a member dead without waiting for this
    /// node's own suspicion timer (see `SWIMInstance`); fewer votes only shorten the timer.
    public var deadQuorum = 4
    /// Largest step by which a record may raise a known member's incarnation. Honest nodes
    /// step by one; the bound keeps a leaked or buggy near-maximum incarnation from freezing
    /// a node out (it could never refute above it) and keeps every `+ 1` far from overflow.
    public var maxIncarnationJump: UInt64 = 1 << 20
    /// Most members (any status) the table holds; alive records of new members beyond it are
    /// refused until dead or departed members are pruned.
    public var maxMembers = 65_536
    /// Dead and departed members are forgotten this long after they settled.
    public var deadRetentionMillis: UInt64 = 3_600_000
    /// Every this many probe periods, push-pull with a random dead member (0: never), so two
    /// sides of a healed partition find each other again.
    public var deadRetryPeriods = 10

    public init() {}

    func retransmitLimit(groupSize: Int) -> Int {
        retransmitMultiplier * Int(ceil(log10(Double(groupSize + 1))))
    }

    /// Push-pull transfers the whole member list, so large groups do it less often:
    /// memberlist's scaling, one more multiple of the base interval per doubling above 32.
    func pushPullPeriods(groupSize: Int) -> Int {
        guard groupSize > 32 else { return pushPullEveryPeriods }
        return pushPullEveryPeriods * (Int(ceil(log2(Double(groupSize)) - log2(32))) + 1)
    }

    /// Lifeguard's suspicion timeout given `confirmations` independent suspicions beyond the first.
    func suspicionTimeoutMillis(groupSize: Int, confirmations: Int) -> UInt64 {
        let minimum = suspicionAlpha * max(1, log10(Double(max(groupSize, 1)))) * Double(protocolPeriodMillis)
        let maximum = suspicionBeta * minimum
        let expected = min(suspicionConfirmations, max(0, groupSize - 2))
        guard expected > 0 else { return UInt64(minimum) }
        let fraction = log(Double(confirmations + 1)) / log(Double(expected + 1))
        return UInt64(max(minimum, maximum - (maximum - minimum) * fraction))
    }
}
