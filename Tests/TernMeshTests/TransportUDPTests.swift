import NIOCore
import TernMesh
import Testing

@Suite struct TransportUDPTests {
    @Test func datagramsArriveWithTheirSender() async throws {
        let a = try await UDPChannel.bind(host: "127.0.0.1", port: 0)
        let b = try await UDPChannel.bind(host: "127.0.0.1", port: 0)

        try await a.send(Array("ping".utf8), to: b.localAddress)
        let atB = try await withTimeout {
            var iterator = b.datagrams.makeAsyncIterator()
            return try #require(await iterator.next())
        }
        #expect(atB.bytes == Array("ping".utf8))
        #expect(atB.sender.port == a.localAddress.port)

        // Past the gossip limit a datagram is dropped as it is read (and counted), so the
        // receive queue never holds more than small buffers; at the limit it arrives intact.
        try await b.send([UInt8](repeating: 9, count: 9000), to: atB.sender)
        let largest = [UInt8](repeating: 7, count: WireLimits.maxPacketBytes)
        try await b.send(largest, to: atB.sender)
        let atA = try await withTimeout {
            var iterator = a.datagrams.makeAsyncIterator()
            return try #require(await iterator.next())
        }
        #expect(atA.bytes == largest)
        #expect(a.oversizeDropped == 1)

        await a.close()
        await b.close()
    }

    /// A send that cannot be routed (here: an IPv6 destination from an IPv4 socket, as a
    /// hostile member's gossiped endpoint could make it) fails alone; the socket keeps
    /// sending and receiving.
    @Test func anUnroutableDestinationFailsOnlyThatDatagram() async throws {
        let a = try await UDPChannel.bind(host: "127.0.0.1", port: 0)
        let b = try await UDPChannel.bind(host: "127.0.0.1", port: 0)
        await #expect(throws: (any Error).self) {
            try await a.send([1, 2, 3], to: try SocketAddress(ipAddress: "2001:db8::1", port: 7946))
        }
        try await a.send(Array("still here".utf8), to: b.localAddress)
        let atB = try await withTimeout {
            var iterator = b.datagrams.makeAsyncIterator()
            return try #require(await iterator.next())
        }
        #expect(atB.bytes == Array("still here".utf8))
        try await b.send([9], to: a.localAddress)
        let atA = try await withTimeout {
            var iterator = a.datagrams.makeAsyncIterator()
            return try #require(await iterator.next())
        }
        #expect(atA.bytes == [9])
        await a.close()
        await b.close()
    }
}
