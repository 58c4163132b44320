import Foundation
import TernMesh

/// `tern fuzz control`: JSON through every decoder of the control plane: the join body the
/// daemon reads from the loopback HTTP API, the replies the CLI reads back, and the files a
/// node reads at start (`control.json`, `--config`, the throughput cache).
///
/// Every input goes through all of them, with the decoder each really uses (Hummingbird
/// decodes request bodies with a plain `JSONDecoder` reading ISO-8601 dates, the same as
/// `ControlJSON.decoder`; `--config` files use a default `JSONDecoder`). An input counts as
/// accepted if any of them accepts it; the label lists which did. Rejections are labelled
/// with the join decoder's error, the one facing the network.
///
/// Invariant: every accepted value survives a round trip (encode, decode) unchanged.
public struct ControlFuzzTarget: FuzzTarget {
    public let name = "control"
    public let samples: [[UInt8]]
    private let bodies: [ControlBody]

    public init() throws {
        samples = try ControlFuzzSamples.all()
        let control = ControlJSON.decoder, configuration = JSONDecoder()
        bodies = [
            ControlBody("joinRequest", JoinRequest.self, decoder: control),
            ControlBody("joinReply", JoinReply.self, decoder: control),
            ControlBody("status", NodeStatusReply.self, decoder: control),
            ControlBody("peers", [PeerRow].self, decoder: control),
            ControlBody("controlEndpoint", ControlEndpoint.self, decoder: control),
            ControlBody("configuration", NodeConfiguration.self, decoder: configuration),
            ControlBody("throughputCache", MeasuredThroughput.self, decoder: control),
        ]
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        let data = Data(input)
        var accepted: [String] = []
        var joinError: (any Error)?
        for body in bodies {
            do {
                guard try body.decodeAndRoundTrip(data) else {
                    return .violation("a decoded \(body.name) body changes in an encode-decode round trip")
                }
                accepted.append(body.name)
            } catch {
                if joinError == nil { joinError = error }
            }
        }
        if !accepted.isEmpty { return .accepted(accepted.joined(separator: "+")) }
        return .rejected(Self.label(joinError))
    }

    private static func label(_ error: (any Error)?) -> String {
        switch error {
        case DecodingError.dataCorrupted?: "dataCorrupted"
        case DecodingError.keyNotFound?: "keyNotFound"
        case DecodingError.typeMismatch?: "typeMismatch"
        case DecodingError.valueNotFound?: "valueNotFound"
        default: "other"
        }
    }
}

/// One control-plane type with the decoder that reads it.
private struct ControlBody {
    let name: String
    /// Decodes; then whether the value encodes and decodes back to itself.
    let decodeAndRoundTrip: (Data) throws -> Bool

    init<Body: Codable & Equatable>(_ name: String, _ type: Body.Type, decoder: JSONDecoder) {
        self.name = name
        let encoder = ControlJSON.encoder
        decodeAndRoundTrip = { data in
            let value = try decoder.decode(Body.self, from: data)
            return (try? decoder.decode(Body.self, from: encoder.encode(value))) == value
        }
    }
}
