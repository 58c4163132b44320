import Foundation
import TernLedger
import TernMesh

/// Answers the public API listener's reads (model list, status page, `/metrics`) from the
/// running node, reusing what the control API already gathers (`RuntimeControl`).
struct RuntimeObserver: NodeObserver {
    let control: RuntimeControl
    let ledger: Ledger
    let compute: ComputeExecutor

    var runtime: MeshRuntime { control.runtime }
    var tasks: TaskPlane { control.tasks }

    func status() async -> NodeStatusReply { await control.status() }

    func members() async -> [MemberSummary] {
        let status = await runtime.status(dataDirectory: control.dataDirectory)
        let own = control.profiles.current()
        let this = MemberSummary(
            nodeID: status.nodeID, fingerprint: status.fingerprint, address: status.gossipAddress, state: "alive",
            isSelf: true, deviceClass: own.deviceClass.name, cores: Int(own.cores), ramBytes: own.ramTotalBytes,
            gops: own.ternaryGOPS > 0 ? own.ternaryGOPS : nil, loadPercent: Int(own.loadPercent),
            models: own.modelHashes.map(Hex.encode))
        let peers = await control.peers().map { row -> MemberSummary in
            // Load and the models held are in the signed profile the ledger keeps; the row
            // has the rest.
            let profile = (try? ledger.profile(nodeID: row.nodeID)).flatMap { $0 }.flatMap { record in
                try? HardwareProfile(decoding: Array(record.signedBytes.dropLast(NodeIdentity.signatureByteCount)))
            }
            return MemberSummary(
                nodeID: row.nodeID, fingerprint: row.fingerprint, address: row.address, state: row.state,
                deviceClass: row.deviceClass, cores: row.cores, ramBytes: row.ramBytes, gops: row.gops,
                loadPercent: profile.map { Int($0.loadPercent) }, models: profile?.modelHashes.map(Hex.encode) ?? [])
        }
        let order = ["alive": 0, "suspect": 1, "dead": 2, "left": 3]
        return [this] + peers.sorted { (order[$0.state] ?? 4, $0.fingerprint) < (order[$1.state] ?? 4, $1.fingerprint) }
    }

    func localModels() -> [BlobInfo] {
        tasks.store.list().filter { $0.kind == .model && $0.complete }
    }

    func fineTunes() -> [FineTuneStatus] {
        ((try? control.fineTunes.status(nil)) ?? []).sorted { $0.startedAt > $1.startedAt }
    }

    func receipts(limit: Int) -> [ReceiptSummary] {
        ((try? ledger.receipts(limit: limit)) ?? []).map {
            ReceiptSummary(jobID: $0.jobID, kind: $0.kind, worker: $0.workerNodeID, requester: $0.requesterNodeID,
                           tokens: $0.tokens, wallMillis: $0.wallMillis, accepted: $0.accepted,
                           revokedReason: $0.revokedReason, createdAt: $0.createdAt)
        }
    }

    func credits() -> [CreditSummary] {
        ((try? ledger.credits()) ?? []).map {
            CreditSummary(nodeID: $0.nodeID, jobsAccepted: $0.jobsAccepted, jobsRejected: $0.jobsRejected,
                          jobsRevoked: $0.jobsRevoked, tokensAccepted: $0.tokensAccepted)
        }
    }

    func activity() async -> NodeActivity {
        let status = await runtime.status(dataDirectory: control.dataDirectory)
        var activity = NodeActivity()
        activity.members = ["alive": status.membersAlive, "suspect": status.membersSuspect, "dead": status.membersDead]
        activity.gossipDrops = status.dropped
        let refusals = tasks.counts
        activity.taskEvents = refusals.filter { $0.key != "blob.bytesServed" }
        let done = tasks.activityCounts
        activity.jobsRun = done["jobs.completed", default: 0]
        activity.jobsFailed = refusals["task.jobFailed", default: 0]
        activity.blobBytesServed = refusals["blob.bytesServed", default: 0]
        activity.blobBytesReceived = done["blob.bytesFetched", default: 0]
        let fineTunes = (try? control.fineTunes.status(nil)) ?? []
        activity.fineTuneRounds = fineTunes.reduce(0) { $0 + $1.completed.count }
        activity.fineTunesRunning = fineTunes.filter { $0.state == "running" }.count
        activity.receipts = (try? ledger.receiptCounts()) ?? [:]
        activity.computeBusySeconds = compute.busySeconds
        let occupancy = compute.occupancy
        activity.computeRunning = occupancy.running
        activity.computeWaiting = occupancy.waiting
        activity.uptimeSeconds = status.uptimeSeconds
        return activity
    }
}
