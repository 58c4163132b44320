/// Which peer a node forwards a completion to, among the live peers whose signed profiles
/// list the model: the fastest for decoding, discounted by the load each reports, and
/// those that failed this node recently last.
///
/// Decoding one stream is bound by memory bandwidth, so the measured GB/s ranks peers when
/// every one has that figure; otherwise the ternary GOPS do (one unit must rank everybody).
/// A peer whose credit this node revoked (it lied in a checked job) is never asked. Ties
/// go to the lower id, so the order is the same on every call.
public enum ServingRouteRanking {
    public struct Holder: Sendable, Equatable {
        public var id: String
        public var memoryGBPerSecond: Double
        public var ternaryGOPS: Double
        /// 0…100, from the signed profile.
        public var loadPercent: Int
        public var revokedJobs: Int
        /// Forwarded completions that failed on it lately.
        public var recentFailures: Int

        public init(id: String, memoryGBPerSecond: Double, ternaryGOPS: Double, loadPercent: Int = 0, revokedJobs: Int = 0,
                    recentFailures: Int = 0) {
            self.id = id
            self.memoryGBPerSecond = memoryGBPerSecond
            self.ternaryGOPS = ternaryGOPS
            self.loadPercent = loadPercent
            self.revokedJobs = revokedJobs
            self.recentFailures = recentFailures
        }
    }

    /// The holders worth asking, best first.
    public static func order(_ holders: [Holder]) -> [String] {
        let eligible = holders.filter { $0.revokedJobs == 0 }
        let byBandwidth = eligible.allSatisfy { $0.memoryGBPerSecond > 0 && $0.memoryGBPerSecond.isFinite }
        func speed(_ holder: Holder) -> Double {
            let raw = byBandwidth ? holder.memoryGBPerSecond : holder.ternaryGOPS
            let free = 1 - Double(min(max(holder.loadPercent, 0), 90)) / 100
            return raw.isFinite && raw > 0 ? raw * free : 0
        }
        return eligible.sorted { a, b in
            if a.recentFailures != b.recentFailures { return a.recentFailures < b.recentFailures }
            let (sa, sb) = (speed(a), speed(b))
            if sa != sb { return sa > sb }
            return a.id < b.id
        }.map(\.id)
    }
}
