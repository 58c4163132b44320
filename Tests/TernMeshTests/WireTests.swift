import Testing
import TernMesh

@Suite struct WireTests {
    @Test func writerAndReaderRoundTripEveryFieldType() throws {
        var writer = WireWriter()
        writer.u8(0xAB)
        writer.u16(0xBEEF)
        writer.u32(0xDEAD_BEEF)
        writer.u64(0x0123_4567_89AB_CDEF)
        writer.bool(true)
        writer.string("héllo")
        writer.blob([1, 2, 3])
        writer.nodeID(testID(9))
        writer.count(2)
        #expect(Array(writer.bytes.prefix(3)) == [0xAB, 0xBE, 0xEF])  // big-endian
        var reader = WireReader(writer.bytes)
        #expect(try reader.u8("a") == 0xAB)
        #expect(try reader.u16("b") == 0xBEEF)
        #expect(try reader.u32("c") == 0xDEAD_BEEF)
        #expect(try reader.u64("d") == 0x0123_4567_89AB_CDEF)
        #expect(try reader.bool("e"))
        #expect(try reader.string("f") == "héllo")
        #expect(try reader.blob("g", maxBytes: 3) == [1, 2, 3])
        #expect(try reader.nodeID("h") == testID(9))
        #expect(try reader.count("i") == 2)
        try reader.expectEnd()
    }

    @Test func readerThrowsInsteadOfReadingPastTheEnd() {
        var reader = WireReader([0, 1, 2])
        #expect(throws: WireError.truncated(field: "sequence", needed: 8, available: 3)) { try reader.u64("sequence") }
        #expect(reader.offset == 0)
    }

    @Test func readerEnforcesLimitsAndCanonicalForm() {
        var tooLong = WireReader([0, 5, 1, 2, 3, 4, 5])
        #expect(throws: WireError.tooLong(field: "blob", length: 5, limit: 4)) { try tooLong.blob("blob", maxBytes: 4) }
        var count = WireReader([0xFF, 0xFF])
        #expect(throws: WireError.tooLong(field: "items", length: 65535, limit: WireLimits.maxListCount)) { try count.count("items") }
        var badBool = WireReader([2])
        #expect(throws: WireError.invalidValue(field: "flag", value: 2)) { try badBool.bool("flag") }
        var badUTF8 = WireReader([2, 0xC3, 0x28])
        #expect(throws: WireError.invalidUTF8(field: "name")) { try badUTF8.string("name") }
        #expect(throws: WireError.trailingBytes(count: 1)) { try WireReader([7]).expectEnd() }
    }
}
