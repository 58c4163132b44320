/// Everything one node believes about the group: for each known member its endpoint,
/// status and incarnation.
///
/// Stored as columns indexed by a slot number. Ids and endpoints change rarely (a new
/// member, a moved node) while status and incarnation change often, so copies of a table
/// (every simulated node starts from one, a joining node from a peer's) share the large
/// columns copy-on-write and only duplicate the small ones they modify.
public struct MemberTable: Sendable {
    private var slotOf: [NodeID: Int32] = [:]
    private(set) var ids: [NodeID] = []
    private(set) var endpoints: [String] = []
    private(set) var statuses: [MemberStatus] = []
    private(set) var incarnations: [UInt64] = []
    /// Members that are alive or suspect.
    public private(set) var liveCount = 0

    public init() {}

    /// A table holding `updates` as facts (later entries for the same node win).
    public init(_ updates: [MembershipUpdate]) {
        for update in updates { set(update.node, status: update.status, incarnation: update.incarnation, endpoint: update.endpoint) }
    }

    public var count: Int { ids.count }

    func slot(of node: NodeID) -> Int? { slotOf[node].map(Int.init) }

    public func status(of node: NodeID) -> MemberStatus? { slot(of: node).map { statuses[$0] } }
    public func incarnation(of node: NodeID) -> UInt64? { slot(of: node).map { incarnations[$0] } }
    public func endpoint(of node: NodeID) -> String? { slot(of: node).map { endpoints[$0] } }

    /// Every member as an update, in slot order; suspicions are attributed to `reporter`.
    public func updates(reportedBy reporter: NodeID) -> [MembershipUpdate] {
        ids.indices.map { slot in
            MembershipUpdate(node: ids[slot], status: statuses[slot], incarnation: incarnations[slot],
                             endpoint: endpoints[slot], suspecter: statuses[slot] == .suspect ? reporter : nil)
        }
    }

    /// Inserts or overwrites `node`. An empty `endpoint` keeps the known one. Returns the slot.
    @discardableResult
    mutating func set(_ node: NodeID, status: MemberStatus, incarnation: UInt64, endpoint: String) -> Int {
        guard let slot = slot(of: node) else {
            slotOf[node] = Int32(ids.count)
            ids.append(node)
            endpoints.append(endpoint)
            statuses.append(status)
            incarnations.append(incarnation)
            if status.isLive { liveCount += 1 }
            return ids.count - 1
        }
        if statuses[slot] != status {
            liveCount += (status.isLive ? 1 : 0) - (statuses[slot].isLive ? 1 : 0)
            statuses[slot] = status
        }
        if incarnations[slot] != incarnation { incarnations[slot] = incarnation }
        if !endpoint.isEmpty && endpoints[slot] != endpoint { endpoints[slot] = endpoint }
        return slot
    }
}
