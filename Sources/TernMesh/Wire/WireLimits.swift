/// Hard limits of the wire format. They bound what a decoder will allocate, so a hostile
/// packet can cost at most one small buffer.
public enum WireLimits {
    /// Largest gossip datagram: fits a 1500-byte Ethernet MTU after IP/UDP headers.
    public static let maxPacketBytes = 1400
    /// Longest string field (CPU model, endpoint, GPU name …), in UTF-8 bytes.
    public static let maxStringBytes = 255
    /// Most entries in any list inside a gossip packet or a profile.
    public static let maxListCount = 64
    /// Most fragments in one push-pull snapshot (each at most one stream frame): with the
    /// default 256 KiB fragments, 64 MiB of state.
    public static let maxSnapshotFragments = 256
}
