import Foundation
import Testing
import TernMesh

@Suite struct IdentityTests {
    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "tern-identity-\(UUID().uuidString)"
        return path
    }

    @Test func signaturesVerifyOnlyForTheSignerAndTheExactMessage() throws {
        let alice = try NodeIdentity.generate(), bob = try NodeIdentity.generate()
        let message: [UInt8] = Array("hello mesh".utf8)
        let signature = alice.sign(message)
        #expect(signature.count == 64)
        #expect(NodeIdentity.verify(signature: signature, message: message, signer: alice.nodeID))
        #expect(!NodeIdentity.verify(signature: signature, message: message, signer: bob.nodeID))
        #expect(!NodeIdentity.verify(signature: signature, message: message + [0], signer: alice.nodeID))
        #expect(!NodeIdentity.verify(signature: Array(signature.dropLast()), message: message, signer: alice.nodeID))
    }

    @Test func createsKeyFileWithOwnerOnlyModeAndReloadsTheSameIdentity() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let created = try NodeIdentity.loadOrCreate(inDirectory: directory)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/identity.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let loaded = try NodeIdentity.loadOrCreate(inDirectory: directory)
        #expect(loaded.nodeID == created.nodeID)
        #expect(NodeIdentity.verify(signature: loaded.sign([1, 2, 3]), message: [1, 2, 3], signer: created.nodeID))
    }

    @Test func refusesKeyFileReadableByOthers() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try NodeIdentity.loadOrCreate(inDirectory: directory)
        let path = directory + "/identity.key"
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: IdentityError.keyFileTooOpen(path: path, mode: 0o100644)) {
            try NodeIdentity.loadOrCreate(inDirectory: directory)
        }
    }

    @Test func rejectsMalformedKeyFile() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/identity.key"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("not a key".utf8), attributes: [.posixPermissions: 0o600]))
        #expect {
            try NodeIdentity.loadOrCreate(inDirectory: directory)
        } throws: { error in
            guard case .keyFileMalformed(path, _)? = error as? IdentityError else { return false }
            return true
        }
    }

    @Test func descriptionShowsFingerprintNotSecret() throws {
        let seed = [UInt8](repeating: 0x42, count: 32)
        let identity = try NodeIdentity(seed: seed)
        let fingerprint = identity.nodeID.fingerprint
        #expect(fingerprint.count == 16 && fingerprint.allSatisfy(\.isHexDigit))
        #expect(identity.description == "NodeIdentity(\(fingerprint))")
        #expect(!"\(identity)".contains("4242"))
        #expect(try NodeIdentity(seed: seed).nodeID == identity.nodeID)
        #expect(throws: IdentityError.badSeedLength(3)) { try NodeIdentity(seed: [1, 2, 3]) }
    }

    @Test func nodeIDRoundTripsItsBytesAndOrders() {
        let bytes = (0..<32).map { UInt8($0 * 7 & 255) }
        let id = NodeID(bytes: bytes)!
        #expect(id.bytes == bytes)
        #expect(NodeID(bytes: bytes.dropLast()) == nil)
        #expect(NodeID(bytes: [UInt8](repeating: 1, count: 32))! < NodeID(bytes: [UInt8](repeating: 2, count: 32))!)
    }
}
