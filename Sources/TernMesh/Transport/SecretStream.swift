import CSodium

/// One direction of an encrypted stream (`crypto_secretstream_xchacha20poly1305`): every
/// frame is authenticated and bound to its position, so tampering, reordering, replay and
/// dropped frames are all detected on the receiving side.
final class SecretStreamSender {
    private var state = crypto_secretstream_xchacha20poly1305_state()
    /// Sent once to the peer so that it can open the matching `SecretStreamReceiver`.
    let header: [UInt8]

    init(key: [UInt8]) {
        var header = [UInt8](repeating: 0, count: Int(crypto_secretstream_xchacha20poly1305_headerbytes()))
        crypto_secretstream_xchacha20poly1305_init_push(&state, &header, key)
        self.header = header
    }

    /// Encrypts one frame; `final` marks the orderly end of the stream.
    func seal(_ plaintext: [UInt8], final: Bool = false) -> [UInt8] {
        let overhead = Int(crypto_secretstream_xchacha20poly1305_abytes())
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + overhead)
        let tag = final ? crypto_secretstream_xchacha20poly1305_tag_final() : crypto_secretstream_xchacha20poly1305_tag_message()
        crypto_secretstream_xchacha20poly1305_push(&state, &ciphertext, nil, plaintext, UInt64(plaintext.count), nil, 0, tag)
        return ciphertext
    }
}

final class SecretStreamReceiver {
    private var state = crypto_secretstream_xchacha20poly1305_state()

    init(header: [UInt8], key: [UInt8]) throws {
        guard header.count == Int(crypto_secretstream_xchacha20poly1305_headerbytes()),
              crypto_secretstream_xchacha20poly1305_init_pull(&state, header, key) == 0
        else { throw TransportError.malformedHandshake("bad stream header") }
    }

    /// Decrypts one frame; `isFinal` is true for the sender's orderly end of stream.
    func open(_ ciphertext: [UInt8]) throws -> (plaintext: [UInt8], isFinal: Bool) {
        let overhead = Int(crypto_secretstream_xchacha20poly1305_abytes())
        guard ciphertext.count >= overhead else { throw TransportError.tamperedFrame }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count - overhead)
        var tag: UInt8 = 0
        guard crypto_secretstream_xchacha20poly1305_pull(
            &state, &plaintext, nil, &tag, ciphertext, UInt64(ciphertext.count), nil, 0) == 0
        else { throw TransportError.tamperedFrame }
        return (plaintext, tag == crypto_secretstream_xchacha20poly1305_tag_final())
    }
}
