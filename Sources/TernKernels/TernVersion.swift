/// The Tern release, shown by `tern --version` and advertised in hardware profiles.
public enum TernVersion {
    public static let string = "0.1.0"
}
