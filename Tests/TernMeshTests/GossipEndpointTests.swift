import Testing
import TernMesh

@Suite struct GossipEndpointTests {
    @Test func acceptsIPLiteralsWithAPort() {
        #expect(GossipEndpoint.parse("10.0.0.1:7946")! == ("10.0.0.1", 7946))
        #expect(GossipEndpoint.parse("[2001:db8::2]:7946")! == ("2001:db8::2", 7946))
    }

    @Test func refusesWildcardsNamesAndBadPorts() {
        for text in ["0.0.0.0:7946", "[::]:7946", "example.com:7946", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1",
                     "2001:db8::2:7946", "10.0.0.1:+79", "010.0.0.1:7946"] {
            #expect(!GossipEndpoint.isValid(text), "\(text)")
        }
    }

    /// The address check hands the host to `inet_pton` as a C string, which ends at the first
    /// NUL: without a check of its own, `10.0.0.1\0anything` would pass as `10.0.0.1` and the
    /// whole text would be stored, shown and gossiped on.
    @Test func refusesHostsWithEmbeddedNUL() {
        #expect(!GossipEndpoint.isValid("10.0.0.1\u{0}evil:7946"))
        #expect(!GossipEndpoint.isValid("[2001:db8::2\u{0}x]:7946"))
    }
}
