/// Coarse kind of machine, used to decide what work to offer it (a laptop on battery should
/// not be handed a long fine-tune). One type for what the detector finds, what the signed
/// profile carries (its raw value is the wire byte) and what people read and type.
public enum DeviceClass: UInt8, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case server = 0, desktop = 1, laptop = 2, phoneClass = 3

    /// The name people see and type: server, desktop, laptop, phone-class.
    public var name: String {
        switch self {
        case .server: "server"
        case .desktop: "desktop"
        case .laptop: "laptop"
        case .phoneClass: "phone-class"
        }
    }

    public var description: String { name }

    /// Parses a name in any case, with or without the hyphen (`phone-class`, `phoneClass`).
    public init?(name: String) {
        let wanted = name.lowercased().replacingOccurrences(of: "-", with: "")
        guard let match = Self.allCases.first(where: { $0.name.replacingOccurrences(of: "-", with: "") == wanted }) else { return nil }
        self = match
    }

    /// Encoded as its name, so JSON files stay readable; older files wrote `phoneClass`.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = DeviceClass(name: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown device class '\(text)'"))
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
