import Foundation
import TernKernels
import TernLedger
import TernMesh

/// Turns what this machine is (detected hardware, measured throughput, models held) into
/// the signed profile the node gossips, and gossiped profiles into ledger rows.
public enum ProfileBuilder {
    public static func profile(
        for node: NodeID, version: UInt64, hardware: DetectedHardware,
        ternaryGOPS: Double = 0, memoryGBPerSecond: Double = 0,
        modelHashes: [[UInt8]] = [], adapterHashes: [[UInt8]] = [],
        kernelClass: KernelClass = .native
    ) -> HardwareProfile {
        let load = hardware.logicalCores > 0 ? hardware.load.one / Double(hardware.logicalCores) * 100 : 0
        return HardwareProfile(
            nodeID: node, profileVersion: version,
            cpuModel: String(hardware.cpuModel.prefix(120)),
            cores: UInt16(clamping: hardware.logicalCores),
            isaFeatures: hardware.isaFeatures,
            ramTotalBytes: hardware.ramTotalBytes, ramAvailableBytes: hardware.ramAvailableBytes,
            gpus: hardware.gpus.prefix(HardwareProfile.maxGPUs).map {
                HardwareProfile.GPU(vendor: $0.vendor, name: String($0.name.prefix(60)), memoryBytes: $0.memoryBytes ?? 0)
            },
            deviceClass: hardware.deviceClass,
            ternaryGOPS: ternaryGOPS, memoryGBPerSecond: memoryGBPerSecond,
            modelHashes: modelHashes, adapterHashes: adapterHashes,
            loadPercent: UInt8(min(100, max(0, Int(load.rounded())))),
            kernelClass: kernelClass.name)
    }

    /// The ledger row for a verified, signed profile.
    public static func record(of signed: SignedProfile, receivedAt: Date) -> ProfileRecord {
        let p = signed.profile
        let gpus = p.gpus.map { ["vendor": $0.vendor, "name": $0.name, "memoryBytes": String($0.memoryBytes)] }
        let gpusJSON = (try? JSONSerialization.data(withJSONObject: gpus, options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return ProfileRecord(
            nodeID: p.nodeID.hex, version: Int64(clamping: p.profileVersion),
            signedBytes: Data(signed.encodedProfile + signed.signature),
            deviceClass: p.deviceClass.name, cores: Int(p.cores),
            ramBytes: Int64(clamping: p.ramTotalBytes), isa: p.isaFeatures, kernelClass: p.kernelClass,
            gpusJSON: gpusJSON, gops: p.ternaryGOPS > 0 ? p.ternaryGOPS : nil, receivedAt: receivedAt)
    }
}
