/// `tern fuzz profile`: canonical hardware profiles through `HardwareProfile(decoding:)`,
/// and each accepted one through `SignedProfile(encodedProfile:signature:)` with the first
/// sample's signature.
///
/// Invariants: an accepted profile re-encodes to exactly the input, and the signature
/// verifies for the bytes it was made over and for no other accepted profile.
public struct ProfileFuzzTarget: FuzzTarget {
    public let name = "profile"
    public let samples: [[UInt8]]
    private let signedSample: SignedProfile

    public init() {
        let signed = MeshFuzzSamples.signedProfiles
        samples = signed.map(\.encodedProfile)
        signedSample = signed[0]
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        let profile: HardwareProfile
        let record: SignedProfile
        do {
            profile = try HardwareProfile(decoding: input)
            record = try SignedProfile(encodedProfile: input, signature: signedSample.signature)
        } catch {
            return .rejected(error.fuzzLabel)
        }
        guard (try? profile.encoded()) == input else { return .violation("a decoded profile does not re-encode to its input") }
        guard record.hasValidSignature == (input == signedSample.encodedProfile) else {
            return .violation("a profile signature verifies for bytes it was not made over")
        }
        switch profile.deviceClass {
        case .server: return .accepted("server")
        case .desktop: return .accepted("desktop")
        case .laptop: return .accepted("laptop")
        case .phoneClass: return .accepted("phoneClass")
        }
    }
}
