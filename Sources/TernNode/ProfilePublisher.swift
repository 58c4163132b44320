import Foundation
import Synchronization
import TernMesh

/// Builds this node's current profile (hardware, measured throughput once known, and the
/// models it serves) and re-publishes it when one of those changes: the probe finishes, or a
/// model blob is added, fetched or removed.
final class ProfilePublisher: Sendable {
    private let identity: NodeIdentity
    private let hardware: DetectedHardware
    private let store: BlobStore
    private let runtime: MeshRuntime
    private let throughput: Mutex<MeasuredThroughput?>

    init(identity: NodeIdentity, hardware: DetectedHardware, store: BlobStore, runtime: MeshRuntime,
         throughput: MeasuredThroughput?) {
        self.identity = identity
        self.hardware = hardware
        self.store = store
        self.runtime = runtime
        self.throughput = Mutex(throughput)
    }

    /// The profile as of now. Its model list holds the complete model blobs, newest first,
    /// truncated to what fits the profile's size limit (a peer asks `task/1` inventory for
    /// the rest).
    func current() -> HardwareProfile {
        let measured = throughput.withLock { $0 }
        var models = store.list().filter { $0.complete && $0.kind == .model }
            .sorted { $0.lastUsedAt > $1.lastUsedAt }.map(\.id.bytes)
        while true {
            let profile = ProfileBuilder.profile(
                for: identity.nodeID, version: UInt64(Date().timeIntervalSince1970 * 1000), hardware: hardware,
                ternaryGOPS: measured?.ternaryGOPS ?? 0, memoryGBPerSecond: measured?.memoryGBPerSecond ?? 0,
                modelHashes: Array(models.prefix(WireLimits.maxListCount)))
            if models.isEmpty || (try? profile.encoded()) != nil { return profile }
            models.removeLast()
        }
    }

    func measured(_ figures: MeasuredThroughput) async {
        throughput.withLock { $0 = figures }
        await publish()
    }

    func publish() async {
        try? await runtime.publish(current())
    }
}
