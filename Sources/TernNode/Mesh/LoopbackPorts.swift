import Foundation

/// Port numbers for daemons started side by side on 127.0.0.1 (benchmarks, tests).
public enum LoopbackPorts {
    /// The first of `count` consecutive ports that are free right now for both TCP and UDP
    /// on 127.0.0.1, below Linux's ephemeral range (32768–60999), where the kernel hands out
    /// client ports: a base picked at random there was once taken by some connection's local
    /// port between the pick and the daemon's bind. Still a probe, not a reservation.
    public static func freeBlock(count: Int = 10) -> Int {
        for _ in 0..<200 {
            let base = 20_000 + Int.random(in: 0..<1_260) * 10
            if (base..<(base + count)).allSatisfy({ isFree($0, type: Int32(SOCK_STREAM.rawValue)) && isFree($0, type: Int32(SOCK_DGRAM.rawValue)) }) {
                return base
            }
        }
        return 20_000 + Int.random(in: 0..<1_260) * 10
    }

    /// Whether a socket of `type` can bind 127.0.0.1:`port` now.
    static func isFree(_ port: Int, type: Int32) -> Bool {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
