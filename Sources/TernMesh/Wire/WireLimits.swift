/// Hard limits of the wire format. They bound what a decoder will allocate, so a hostile
/// packet can cost at most one small buffer.
public enum WireLimits {
    /// Largest gossip datagram: fits a 1500-byte Ethernet MTU after IP/UDP headers.
    public static let maxPacketBytes = 1400
    /// Longest string field (CPU model, endpoint, GPU name …), in UTF-8 bytes.
    public static let maxStringBytes = 255
    /// Most entries in any list inside a gossip packet or a profile.
    public static let maxListCount = 64
    /// Largest push-pull state transfer (sent over TCP, not UDP).
    public static let maxSnapshotBytes = 64 << 20
    /// Most members in one push-pull snapshot.
    public static let maxSnapshotMembers = 1 << 20
}
