import Foundation

/// Finds GPUs from the kernel's DRM devices (`/sys/class/drm/cardN/device`) and, for
/// NVIDIA cards whose driver does not register with DRM (the usual datacenter set-up),
/// from `/proc/driver/nvidia/gpus/*/information`.
struct GPUScanner {
    let files: SystemFiles

    static let vendorNames: [String: String] = [
        "0x10de": "NVIDIA", "0x1002": "AMD", "0x8086": "Intel", "0x1af4": "virtio",
        "0x1234": "QEMU", "0x15ad": "VMware", "0x1414": "Microsoft", "0x5143": "Qualcomm", "0x13b5": "ARM",
    ]

    /// Whether any DRM card exists at all (used to tell headless machines apart).
    var hasDRMCard: Bool { !cardNames.isEmpty }

    /// Whether a display output (connector such as `card0-HDMI-A-1`) exists.
    var hasDisplayConnector: Bool {
        files.list("/sys/class/drm").contains { $0.hasPrefix("card") && $0.contains("-") }
    }

    func scan() -> [DetectedHardware.GPU] {
        let nvidia = nvidiaProcGPUs()
        var gpus: [DetectedHardware.GPU] = []
        for card in cardNames {
            let device = "/sys/class/drm/\(card)/device"
            guard let vendorID = files.value("\(device)/vendor")?.lowercased() else { continue }
            let deviceID = files.value("\(device)/device")?.lowercased() ?? "unknown"
            let slot = pciSlot(device: device)
            if let slot, gpus.contains(where: { $0.pciSlot == slot }) { continue }
            let vendor = Self.vendorNames[vendorID] ?? vendorID
            if let known = nvidia.first(where: { $0.pciSlot != nil && $0.pciSlot == slot }) {
                gpus.append(known)
                continue
            }
            let vram = files.value("\(device)/mem_info_vram_total").flatMap { UInt64($0) }
            gpus.append(DetectedHardware.GPU(
                vendor: vendor, name: "\(vendor) GPU \(deviceID)", memoryBytes: vram, pciSlot: slot))
        }
        gpus += nvidia.filter { gpu in !gpus.contains { $0.pciSlot == gpu.pciSlot } }
        return gpus
    }

    /// `card0`, `card1`, … (connector entries like `card0-DP-1` excluded).
    private var cardNames: [String] {
        files.list("/sys/class/drm").filter { $0.hasPrefix("card") && Int($0.dropFirst(4)) != nil }
    }

    private func pciSlot(device: String) -> String? {
        files.read("\(device)/uevent")?.split(separator: "\n")
            .first { $0.hasPrefix("PCI_SLOT_NAME=") }
            .map { String($0.dropFirst("PCI_SLOT_NAME=".count)).lowercased() }
    }

    /// NVIDIA's proc files name the model ("Model: NVIDIA H100 80GB HBM3") and the slot
    /// ("Bus Location: 0000:01:00.0") but not the memory size.
    private func nvidiaProcGPUs() -> [DetectedHardware.GPU] {
        files.list("/proc/driver/nvidia/gpus").compactMap { entry in
            guard let text = files.read("/proc/driver/nvidia/gpus/\(entry)/information") else { return nil }
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[line[..<colon].trimmingCharacters(in: .whitespaces)] =
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return DetectedHardware.GPU(
                vendor: "NVIDIA", name: fields["Model"] ?? "NVIDIA GPU",
                memoryBytes: nil, pciSlot: (fields["Bus Location"] ?? entry).lowercased())
        }
    }
}
