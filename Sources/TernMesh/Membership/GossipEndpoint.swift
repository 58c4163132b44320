#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The address a member gossips for itself: an IP literal and a port, `a.b.c.d:port` or
/// `[v6]:port`. Host names are never gossiped: resolving a name a stranger chose would block
/// the node on DNS and let that stranger steer where it sends packets. An unspecified address
/// (`0.0.0.0`, `::`) or port 0 reaches nobody and is refused too; a node that listens on
/// `0.0.0.0` gossips its `--advertise` address instead.
public enum GossipEndpoint {
    /// `[` 39 hex-and-colon characters `]:` 5 digits.
    public static let maxBytes = 47

    /// The host (without brackets) and port of a valid endpoint, else nil.
    public static func parse(_ text: String) -> (host: String, port: Int)? {
        guard text.utf8.count <= maxBytes, let colon = text.lastIndex(of: ":") else { return nil }
        let portText = text[text.index(after: colon)...]
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), (1...65_535).contains(port) else { return nil }
        var host = String(text[..<colon])
        // inet_pton reads a C string, which ends at the first NUL: "10.0.0.1\0junk" would
        // pass as 10.0.0.1 while the whole text is stored and gossiped on.
        guard !host.utf8.contains(0) else { return nil }
        let bracketed = host.hasPrefix("[") && host.hasSuffix("]")
        if bracketed { host = String(host.dropFirst().dropLast()) }
        if bracketed {
            var address = in6_addr()
            guard inet_pton(AF_INET6, host, &address) == 1 else { return nil }
            let unspecified = withUnsafeBytes(of: &address) { $0.allSatisfy { $0 == 0 } }
            return unspecified ? nil : (host, port)
        }
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1, address.s_addr != 0 else { return nil }
        return (host, port)
    }

    public static func isValid(_ text: String) -> Bool { parse(text) != nil }

    /// The endpoint text for `host` and `port` (IPv6 hosts in brackets).
    public static func format(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
