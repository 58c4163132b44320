/// Short, fixed labels for the errors decoders throw, so a fuzz report can count rejections
/// by kind without printing each input's message.
extension WireError {
    public var fuzzLabel: String {
        switch self {
        case .truncated: "truncated"
        case .tooLong: "tooLong"
        case .invalidValue: "invalidValue"
        case .invalidUTF8: "invalidUTF8"
        case .trailingBytes: "trailingBytes"
        }
    }
}

extension TransportError {
    public var fuzzLabel: String {
        switch self {
        case .invalidIdentity: "invalidIdentity"
        case .malformedHandshake: "malformedHandshake"
        case .unexpectedPeer: "unexpectedPeer"
        case .badSignature: "badSignature"
        case .keyExchangeFailed: "keyExchangeFailed"
        case .frameTooLarge: "frameTooLarge"
        case .tamperedFrame: "tamperedFrame"
        case .connectionClosed: "connectionClosed"
        case .concurrentReceive: "concurrentReceive"
        case .handshakeTimeout: "handshakeTimeout"
        case .idleTimeout: "idleTimeout"
        case .unknownProtocol: "unknownProtocol"
        case .invalidProtocolID: "invalidProtocolID"
        case .handshakeEvicted: "handshakeEvicted"
        }
    }
}

extension BlobError {
    public var fuzzLabel: String {
        switch self {
        case .malformedManifest: "malformedManifest"
        case .manifestMismatch: "manifestMismatch"
        case .tooLarge: "tooLarge"
        case .chunkTooLarge: "chunkTooLarge"
        case .unknownBlob: "unknownBlob"
        case .incomplete: "incomplete"
        case .chunkNotHeld: "chunkNotHeld"
        case .quotaExceeded: "quotaExceeded"
        case .inUse: "inUse"
        case .fileChanged: "fileChanged"
        case .notAModel: "notAModel"
        case .io: "io"
        }
    }
}

extension ReceiptError {
    public var fuzzLabel: String {
        switch self {
        case let .malformed(error): error.fuzzLabel
        case .invalidField: "invalidField"
        case .wrongSigner: "wrongSigner"
        case .badWorkerSignature: "badWorkerSignature"
        case .badRequesterSignature: "badRequesterSignature"
        }
    }
}
