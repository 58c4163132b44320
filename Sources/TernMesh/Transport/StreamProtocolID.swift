/// The protocol id that opens every secure stream (`pushpull/1`, `task/1`, `blob/1`): the
/// connector's first encrypted frame names what the stream carries, so an acceptor never
/// decodes one stream kind as another (and never penalises a peer for speaking a newer
/// protocol it does not serve). An id is 1…32 printable ASCII bytes (0x21…0x7E, so no
/// spaces or control characters), which keeps the frame tiny and safe to log.
public enum StreamProtocolID {
    public static let maxLength = 32

    public static func isValid(_ id: String) -> Bool {
        isValid(Array(id.utf8))
    }

    static func isValid(_ bytes: [UInt8]) -> Bool {
        (1...maxLength).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// Decodes a received protocol-id frame; anything else becomes `unknownProtocol` with a
    /// description that never echoes unvalidated bytes.
    static func decode(_ bytes: [UInt8], servedBy protocols: Set<String>) throws -> String {
        guard isValid(bytes) else {
            throw TransportError.unknownProtocol("<\(bytes.count) bytes, not a protocol id>")
        }
        let id = String(decoding: bytes, as: UTF8.self)
        guard protocols.contains(id) else { throw TransportError.unknownProtocol(id) }
        return id
    }
}
