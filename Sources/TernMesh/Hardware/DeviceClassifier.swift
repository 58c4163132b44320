/// Guesses the device class from a few signals. Pure, so that each rule is testable;
/// the operator can always override the guess.
enum DeviceClassifier {
    struct Signals: Equatable {
        var isARM: Bool
        var ramTotalBytes: UInt64
        var logicalCores: Int
        var hasBattery: Bool
        var hasDRMCard: Bool
        var hasDisplayConnector: Bool
        var hasECC: Bool
        var isVirtualized: Bool
    }

    /// At or below this, an arm64 machine without a GPU is treated as phone-class.
    static let phoneClassMaxRAM: UInt64 = 8 << 30
    /// At or above this many logical cores a machine is treated as a server.
    static let serverMinCores = 32

    /// Rules in order: small arm64 without a DRM GPU → phone-class; a battery → laptop;
    /// many cores, ECC memory, a hypervisor or no display → server; otherwise desktop.
    static func classify(_ s: Signals) -> DetectedHardware.DeviceClass {
        if s.isARM && s.ramTotalBytes <= phoneClassMaxRAM && !s.hasDRMCard { return .phoneClass }
        if s.hasBattery { return .laptop }
        if s.logicalCores >= serverMinCores || s.hasECC || s.isVirtualized || !s.hasDisplayConnector { return .server }
        return .desktop
    }
}
