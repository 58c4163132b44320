import Testing
import TernMesh

@Suite struct ProfileTests {
    let owner = try! NodeIdentity(seed: [UInt8](repeating: 3, count: 32))

    @Test func profileRoundTripsThroughItsCanonicalEncoding() throws {
        let profile = sampleProfile(for: owner.nodeID, version: 4)
        let bytes = try profile.encoded()
        #expect(try HardwareProfile(decoding: bytes) == profile)
        #expect(try HardwareProfile(decoding: bytes).encoded() == bytes)
        var unknownClass = profile
        unknownClass.kernelClass = ""  // a node that does not say which class it is
        #expect(try HardwareProfile(decoding: unknownClass.encoded()) == unknownClass)
    }

    @Test func signedProfileVerifiesAndTamperingIsDetected() throws {
        let signed = try SignedProfile(profile: sampleProfile(for: owner.nodeID, version: 1), signer: owner)
        #expect(signed.hasValidSignature)
        var changed = signed.profile
        changed.loadPercent = 0
        let tampered = try SignedProfile(encodedProfile: try changed.encoded(), signature: signed.signature)
        #expect(!tampered.hasValidSignature)
        let other = try NodeIdentity(seed: [UInt8](repeating: 4, count: 32))
        #expect(throws: WireError.self) { try SignedProfile(profile: sampleProfile(for: owner.nodeID, version: 1), signer: other) }
    }

    @Test func invalidProfilesAreRejected() throws {
        var profile = sampleProfile(for: owner.nodeID, version: 1)
        profile.loadPercent = 101
        #expect(throws: WireError.invalidValue(field: "load percent", value: 101)) { try profile.encoded() }
        profile = sampleProfile(for: owner.nodeID, version: 1)
        profile.ternaryGOPS = .nan
        #expect(throws: WireError.self) { try profile.encoded() }
        profile = sampleProfile(for: owner.nodeID, version: 1)
        profile.modelHashes = [[1, 2, 3]]
        #expect(throws: WireError.invalidValue(field: "content hash length", value: 3)) { try profile.encoded() }
        profile = sampleProfile(for: owner.nodeID, version: 1)
        profile.isaFeatures = (0..<60).map { "feature-number-\($0)" }
        #expect(throws: WireError.tooLong(field: "hardware profile", length: 1230, limit: HardwareProfile.maxEncodedBytes)) {
            try profile.encoded()
        }
        let good = try sampleProfile(for: owner.nodeID, version: 1).encoded()
        // Claims past physical bounds and text that could drive a terminal are refused.
        for broken in [
            { (p: inout HardwareProfile) in p.cores = 0 }, { $0.cores = 60_000 }, { $0.ramTotalBytes = 1 << 60; $0.ramAvailableBytes = 0 },
            { $0.ternaryGOPS = 1e12 }, { $0.memoryGBPerSecond = 1e9 }, { $0.cpuModel = "EPYC\u{1B}[2J" },
            { $0.cpuModel = "a\u{202E}b" }, { $0.isaFeatures = ["avx 2"] }, { $0.isaFeatures = [""] },
            { $0.gpus = [.init(vendor: "x", name: "y", memoryBytes: 1 << 50)] }, { $0.cpuModel = String(repeating: "x", count: 200) },
            { $0.kernelClass = "avx 2" }, { $0.kernelClass = "neon\u{1B}[2J" }, { $0.kernelClass = "névé" },
            { $0.kernelClass = String(repeating: "x", count: 33) },
        ] as [(inout HardwareProfile) -> Void] {
            var insane = sampleProfile(for: owner.nodeID, version: 1)
            broken(&insane)
            #expect(throws: WireError.self) { try insane.encoded() }
        }
        var badClass = good
        badClass[badClass.count - 5 - 1 - 2 - 32 - 2 - 8 - 8 - 1] = 9  // device class byte
        #expect(throws: WireError.invalidValue(field: "device class", value: 9)) { try HardwareProfile(decoding: badClass) }
        var schema1 = good
        schema1[0] = 1  // before the kernel class: its bytes would be misread
        #expect(throws: WireError.invalidValue(field: "profile schema version", value: 1)) { try HardwareProfile(decoding: schema1) }
        for length in 0..<good.count {
            #expect(throws: WireError.self) { try HardwareProfile(decoding: Array(good.prefix(length))) }
        }
    }
}
