/// Everything one node believes about the group: for each known member its status,
/// incarnation, the member's own signed alive record (which carries its endpoint) and the
/// record behind any other status (an accusation, or the member's signed departure).
///
/// Stored as columns indexed by a slot number. Ids and alive records change rarely (a new
/// member, a moved node) while status and incarnation change often, so copies of a table
/// (every simulated node starts from one, a joining node from a peer's) share the large
/// columns copy-on-write and only duplicate the small ones they modify. Removal moves the
/// last slot into the freed one, so every operation is O(1).
public struct MemberTable: Sendable {
    private var slotOf: [NodeID: Int32] = [:]
    public private(set) var ids: [NodeID] = []
    private(set) var statuses: [MemberStatus] = []
    private(set) var incarnations: [UInt64] = []
    private var aliveRecords: [MembershipUpdate?] = []
    private var verdicts: [MembershipUpdate?] = []
    /// When a dead or left member reached that state (for pruning).
    private var settledAt: [UInt64] = []
    /// Members that are alive or suspect.
    public private(set) var liveCount = 0

    public init() {}

    /// A table holding `records` as facts, later records for the same node winning, without
    /// any check: for a node's own start-up state and for tests. Records from the network go
    /// through `SWIMInstance`, which checks them.
    public init(_ records: [MembershipUpdate], nowMillis: UInt64 = 0) {
        for record in records { set(record, nowMillis: nowMillis) }
    }

    public var count: Int { ids.count }

    func slot(of node: NodeID) -> Int? { slotOf[node].map(Int.init) }

    public func contains(_ node: NodeID) -> Bool { slotOf[node] != nil }
    public func status(of node: NodeID) -> MemberStatus? { slot(of: node).map { statuses[$0] } }
    public func incarnation(of node: NodeID) -> UInt64? { slot(of: node).map { incarnations[$0] } }
    /// The endpoint from the member's newest alive record ("" if none was seen).
    public func endpoint(of node: NodeID) -> String? { slot(of: node).map { aliveRecords[$0]?.endpoint ?? "" } }
    public func aliveRecord(of node: NodeID) -> MembershipUpdate? { slot(of: node).flatMap { aliveRecords[$0] } }
    /// The accusation or departure behind a suspect, dead or left status.
    public func verdict(of node: NodeID) -> MembershipUpdate? { slot(of: node).flatMap { verdicts[$0] } }
    func settledAt(slot: Int) -> UInt64 { settledAt[slot] }

    /// How many members are in each status, `node` (usually this node) not counted.
    public func statusCounts(excluding node: NodeID) -> [MemberStatus: Int] {
        var counts: [MemberStatus: Int] = [:]
        for slot in ids.indices where ids[slot] != node { counts[statuses[slot], default: 0] += 1 }
        return counts
    }

    /// The records that reproduce this table elsewhere: every live member's alive record
    /// first (so a receiver knows a member before it weighs an accusation), then the
    /// accusations and departures.
    public func records() -> [MembershipUpdate] {
        var out: [MembershipUpdate] = []
        out.reserveCapacity(ids.count)
        for slot in ids.indices where statuses[slot].isLive {
            if let alive = aliveRecords[slot] { out.append(alive) }
        }
        for slot in ids.indices where statuses[slot] != .alive {
            if let verdict = verdicts[slot] { out.append(verdict) }
        }
        return out
    }

    /// Inserts or updates the member `record` is about, in `record.status` unless `status`
    /// says otherwise (a dead accusation makes a member only suspect). An alive record
    /// replaces the alive record and clears any verdict; other records become the verdict.
    @discardableResult
    mutating func set(_ record: MembershipUpdate, as override: MemberStatus? = nil, nowMillis: UInt64) -> Int {
        let status = override ?? record.status
        let slot: Int
        if let existing = self.slot(of: record.node) {
            slot = existing
            if statuses[slot] != status {
                liveCount += (status.isLive ? 1 : 0) - (statuses[slot].isLive ? 1 : 0)
                statuses[slot] = status
                if !status.isLive { settledAt[slot] = nowMillis }
            }
            if incarnations[slot] != record.incarnation { incarnations[slot] = record.incarnation }
        } else {
            slot = ids.count
            slotOf[record.node] = Int32(slot)
            ids.append(record.node)
            statuses.append(status)
            incarnations.append(record.incarnation)
            aliveRecords.append(nil)
            verdicts.append(nil)
            settledAt.append(nowMillis)
            if status.isLive { liveCount += 1 }
        }
        if record.status == .alive {
            aliveRecords[slot] = record
            if verdicts[slot] != nil { verdicts[slot] = nil }
        } else {
            verdicts[slot] = record
        }
        return slot
    }

    /// Forgets `node`.
    mutating func remove(_ node: NodeID) {
        guard let slot = slot(of: node) else { return }
        if statuses[slot].isLive { liveCount -= 1 }
        let last = ids.count - 1
        if slot != last {
            slotOf[ids[last]] = Int32(slot)
            ids[slot] = ids[last]
            statuses[slot] = statuses[last]
            incarnations[slot] = incarnations[last]
            aliveRecords[slot] = aliveRecords[last]
            verdicts[slot] = verdicts[last]
            settledAt[slot] = settledAt[last]
        }
        slotOf[node] = nil
        ids.removeLast()
        statuses.removeLast()
        incarnations.removeLast()
        aliveRecords.removeLast()
        verdicts.removeLast()
        settledAt.removeLast()
    }
}
