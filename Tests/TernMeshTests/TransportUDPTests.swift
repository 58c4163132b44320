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

        let large = [UInt8](repeating: 7, count: 9000)
        try await b.send(large, to: atB.sender)
        let atA = try await withTimeout {
            var iterator = a.datagrams.makeAsyncIterator()
            return try #require(await iterator.next())
        }
        #expect(atA.bytes == large)

        await a.close()
        await b.close()
    }
}
