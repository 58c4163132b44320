/// Why a load repacked its weights instead of reading them from the layout cache.
public enum LayoutCacheMiss: Error, Equatable, Sendable, CustomStringConvertible {
    /// No cache file for these model bytes (first load, or the model file changed: a new
    /// content hash names another file).
    case noFile
    /// The caller asked for the cache to be rebuilt (`LayoutCache.refresh`).
    case refreshRequested
    /// A cache file exists but does not validate: truncated, corrupt, written by another
    /// format version or for other model bytes. It is rebuilt and replaced.
    case invalid(String)
    /// The file is valid but lacks a tensor the model needs (or has it in another shape).
    case missingEntry(String)

    public var description: String {
        switch self {
        case .noFile: "no layout cache for this model's bytes"
        case .refreshRequested: "rebuild requested"
        case .invalid(let reason): "layout cache rejected: \(reason)"
        case .missingEntry(let name): "layout cache lacks \(name)"
        }
    }
}

/// What a model load did with the layout cache.
public enum LayoutCacheOutcome: Equatable, Sendable, CustomStringConvertible {
    /// No cache was given.
    case disabled
    /// The model has nothing in engine layout (no ternary tensor, no float head to
    /// re-encode): it was not hashed, and no cache file was read or written.
    case unused
    /// Every repacked tensor was read from the cache file at `path`.
    case hit(path: String)
    /// The weights were repacked because of `miss`; `storeError` is nil when the new cache
    /// file was written to `path`, otherwise why it could not be (the load still succeeds).
    case rebuilt(path: String, miss: LayoutCacheMiss, storeError: String?)

    public var description: String {
        switch self {
        case .disabled: "layout cache off"
        case .unused: "nothing to cache"
        case .hit(let path): "layout from \(path)"
        case .rebuilt(let path, let miss, nil): "\(miss); repacked and cached in \(path)"
        case .rebuilt(_, let miss, let error?): "\(miss); repacked, not cached: \(error)"
        }
    }
}
