import Foundation
import TernMesh
import Testing

/// A fake root directory holding the given files (paths relative to "/").
final class FixtureTree {
    let root: URL

    init(_ files: [String: String]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-hw-\(UUID().uuidString)")
        for (path, contents) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: url, atomically: true, encoding: .utf8)
        }
    }

    func detect(override: DetectedHardware.DeviceClass? = nil) throws -> DetectedHardware {
        try HardwareDetector(root: root.path, deviceClassOverride: override).detectLinux()
    }

    deinit { try? FileManager.default.removeItem(at: root) }
}

enum Fixtures {
    static func x86CPUInfo(cores: Int, flags: String) -> String {
        (0..<cores).map { index in
            """
            processor\t: \(index)
            vendor_id\t: GenuineIntel
            model name\t: Intel(R) Xeon(R) Platinum 8480+
            flags\t\t: fpu sse sse2 \(flags)

            """
        }.joined()
    }

    static let armCPUInfo = (0..<4).map { index in
        """
        processor\t: \(index)
        BogoMIPS\t: 38.40
        Features\t: fp asimd evtstrm aes pmull crc32 atomics asimdrdm asimddp
        CPU implementer\t: 0x41
        CPU part\t: 0xd05

        """
    }.joined() + "Hardware\t: Qualcomm Technologies, Inc SM8250\n"

    static func memInfo(totalKB: UInt64, availableKB: UInt64) -> String {
        """
        MemTotal:       \(totalKB) kB
        MemFree:         1000000 kB
        MemAvailable:   \(availableKB) kB
        Buffers:          200000 kB
        Cached:          3000000 kB

        """
    }

    static let loadavg = "1.50 0.75 0.25 3/812 40210\n"
}

@Suite struct HardwareDetectorTests {
    @Test func virtualizedServerWithAnNVIDIACardOutsideDRM() throws {
        let tree = try FixtureTree([
            "proc/cpuinfo": Fixtures.x86CPUInfo(
                cores: 2, flags: "avx avx2 fma hypervisor avx512f avx512bw avx512_vnni avx512_bf16"),
            "proc/meminfo": Fixtures.memInfo(totalKB: 131_891_404, availableKB: 120_000_000),
            "proc/loadavg": Fixtures.loadavg,
            "proc/driver/nvidia/gpus/0000:01:00.0/information": """
                Model: \t\t NVIDIA H100 80GB HBM3
                IRQ:   \t\t 35
                Bus Location: \t 0000:01:00.0

                """,
        ])
        let hardware = try tree.detect()
        #expect(hardware.cpuModel == "Intel(R) Xeon(R) Platinum 8480+")
        #expect(hardware.logicalCores == 2)
        #expect(hardware.isaFeatures == ["avx2", "avx512f", "avx512bw", "avx512vnni", "avx512bf16"])
        #expect(hardware.ramTotalBytes == 131_891_404 * 1024)
        #expect(hardware.ramAvailableBytes == 120_000_000 * 1024)
        #expect(hardware.gpus == [.init(vendor: "NVIDIA", name: "NVIDIA H100 80GB HBM3", memoryBytes: nil, pciSlot: "0000:01:00.0")])
        #expect(hardware.deviceClass == .server)
        #expect(hardware.load == .init(one: 1.5, five: 0.75, fifteen: 0.25))

        #expect(try tree.detect(override: .desktop).deviceClass == .desktop)
    }

    @Test func laptopHasABatteryAndAnIntegratedGPU() throws {
        let tree = try FixtureTree([
            "proc/cpuinfo": Fixtures.x86CPUInfo(cores: 8, flags: "avx avx2 fma"),
            "proc/meminfo": Fixtures.memInfo(totalKB: 16_000_000, availableKB: 9_000_000),
            "proc/loadavg": Fixtures.loadavg,
            "sys/class/power_supply/AC/type": "Mains\n",
            "sys/class/power_supply/BAT0/type": "Battery\n",
            "sys/class/drm/card0/device/vendor": "0x8086\n",
            "sys/class/drm/card0/device/device": "0x9a49\n",
            "sys/class/drm/card0/device/uevent": "DRIVER=i915\nPCI_SLOT_NAME=0000:00:02.0\n",
            "sys/class/drm/card0-eDP-1/status": "connected\n",
            "sys/class/drm/renderD128/dev": "226:128\n",
        ])
        let hardware = try tree.detect()
        #expect(hardware.deviceClass == .laptop)
        #expect(hardware.isaFeatures == ["avx2"])
        #expect(hardware.gpus == [.init(vendor: "Intel", name: "Intel GPU 0x9a49", memoryBytes: nil, pciSlot: "0000:00:02.0")])
    }

    @Test func desktopWithAnAMDAndAnNVIDIACard() throws {
        let tree = try FixtureTree([
            "proc/cpuinfo": Fixtures.x86CPUInfo(cores: 16, flags: "avx avx2 fma avx512f"),
            "proc/meminfo": Fixtures.memInfo(totalKB: 64_000_000, availableKB: 50_000_000),
            "proc/loadavg": Fixtures.loadavg,
            "sys/class/drm/card0/device/vendor": "0x1002\n",
            "sys/class/drm/card0/device/device": "0x744c\n",
            "sys/class/drm/card0/device/mem_info_vram_total": "25753026560\n",
            "sys/class/drm/card0/device/uevent": "PCI_SLOT_NAME=0000:03:00.0\n",
            "sys/class/drm/card0-DP-1/status": "connected\n",
            "sys/class/drm/card1/device/vendor": "0x10de\n",
            "sys/class/drm/card1/device/device": "0x2684\n",
            "sys/class/drm/card1/device/uevent": "PCI_SLOT_NAME=0000:0A:00.0\n",
            "proc/driver/nvidia/gpus/0000:0a:00.0/information": "Model: \t NVIDIA GeForce RTX 4090\nBus Location: \t 0000:0a:00.0\n",
        ])
        let hardware = try tree.detect()
        #expect(hardware.deviceClass == .desktop)
        #expect(hardware.gpus == [
            .init(vendor: "AMD", name: "AMD GPU 0x744c", memoryBytes: 25_753_026_560, pciSlot: "0000:03:00.0"),
            .init(vendor: "NVIDIA", name: "NVIDIA GeForce RTX 4090", memoryBytes: nil, pciSlot: "0000:0a:00.0"),
        ])
    }

    @Test func smallArmBoardWithoutGPUIsPhoneClass() throws {
        let tree = try FixtureTree([
            "proc/cpuinfo": Fixtures.armCPUInfo,
            "proc/meminfo": Fixtures.memInfo(totalKB: 4_000_000, availableKB: 2_000_000),
            "proc/loadavg": Fixtures.loadavg,
            "sys/class/power_supply/battery/type": "Battery\n",
        ])
        let hardware = try tree.detect()
        #expect(hardware.cpuModel == "Qualcomm Technologies, Inc SM8250")
        #expect(hardware.logicalCores == 4)
        #expect(hardware.isaFeatures == ["neon", "dotprod"])
        #expect(hardware.gpus.isEmpty)
        #expect(hardware.deviceClass == .phoneClass)
    }

    @Test func largeArmServerWithoutDisplayIsAServer() throws {
        let tree = try FixtureTree([
            "proc/cpuinfo": Fixtures.armCPUInfo.replacingOccurrences(of: "Hardware", with: "Ignored"),
            "proc/meminfo": Fixtures.memInfo(totalKB: 256_000_000, availableKB: 200_000_000),
            "proc/loadavg": Fixtures.loadavg,
            "sys/firmware/devicetree/base/model": "Ampere Altra\0",
            "sys/devices/system/edac/mc/mc0/size_mb": "262144\n",
        ])
        let hardware = try tree.detect()
        #expect(hardware.deviceClass == .server)
        #expect(hardware.cpuModel == "Ampere Altra")
    }

    @Test func olderKernelsWithoutMemAvailableAndCPUCountFromSysfs() throws {
        let tree = try FixtureTree([
            "proc/cpuinfo": "flags\t: avx2\n",
            "proc/meminfo": "MemTotal: 8000000 kB\nMemFree: 1000000 kB\nBuffers: 100000 kB\nCached: 2000000 kB\n",
            "proc/loadavg": Fixtures.loadavg,
            "sys/devices/system/cpu/online": "0-3,6,8-9\n",
        ])
        let hardware = try tree.detect()
        #expect(hardware.ramAvailableBytes == 3_100_000 * 1024)
        #expect(hardware.logicalCores == 7)
        #expect(hardware.cpuModel == "unknown CPU")
    }

    @Test func missingOrMalformedFilesAreNamedInTheError() throws {
        let noCPUInfo = try FixtureTree(["proc/meminfo": Fixtures.memInfo(totalKB: 1, availableKB: 1)])
        #expect(throws: HardwareDetectionError.unreadable(path: "/proc/cpuinfo")) { try noCPUInfo.detect() }

        let badMemInfo = try FixtureTree([
            "proc/cpuinfo": Fixtures.armCPUInfo, "proc/meminfo": "garbage\n", "proc/loadavg": Fixtures.loadavg,
        ])
        #expect(throws: HardwareDetectionError.malformed(path: "/proc/meminfo", why: "no MemTotal line")) {
            try badMemInfo.detect()
        }

        let badLoad = try FixtureTree([
            "proc/cpuinfo": Fixtures.armCPUInfo, "proc/meminfo": Fixtures.memInfo(totalKB: 1, availableKB: 1),
            "proc/loadavg": "x y\n",
        ])
        #expect(throws: HardwareDetectionError.self) { try badLoad.detect() }
    }

    #if os(Linux)
    @Test func detectsThisMachine() throws {
        let hardware = try HardwareDetector().detect()
        #expect(hardware.logicalCores >= 1)
        #expect(hardware.ramTotalBytes > 0)
        #expect(hardware.ramAvailableBytes <= hardware.ramTotalBytes)
        #expect(!hardware.cpuModel.isEmpty)
    }
    #endif
}
