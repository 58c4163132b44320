import TernMesh

/// `tern fuzz event-stream`: response bodies a node sends `tern run --node` and
/// `tern chat --node`, through `ServerSentEventParser`.
///
/// Invariant: the events do not depend on how the body was cut into network reads — all at
/// once, in two pieces, or byte by byte give the same events.
public struct EventStreamFuzzTarget: FuzzTarget {
    public let name = "event-stream"
    public let samples: [[UInt8]]

    public init() {
        samples = [
            "data: {\"choices\": [{\"delta\": {\"content\": \"Hi\"}}]}\n\ndata: [DONE]\n\n",
            ": comment\r\nevent: x\r\ndata: one\r\ndata\r\ndata:two\r\n\r\nid: 7\n\n",
            "data: a\rdata: b\r\rdata: {\"error\": {\"message\": \"boom\"}}\n\n",
        ].map { Array($0.utf8) }
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        var whole = ServerSentEventParser()
        let events = whole.feed(input)
        var halves = ServerSentEventParser()
        let middle = input.count / 2
        let split = halves.feed(Array(input[..<middle])) + halves.feed(Array(input[middle...]))
        var bytes = ServerSentEventParser()
        var single: [String] = []
        for byte in input { single += bytes.feed([byte]) }
        guard split == events, single == events else { return .violation("events depend on how the body was split") }
        return events.isEmpty ? .rejected("noEvent") : .accepted(events.contains("[DONE]") ? "done" : "events")
    }
}
