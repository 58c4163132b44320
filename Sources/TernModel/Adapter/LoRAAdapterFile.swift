import TernKernels

/// GGUF LoRA adapter files in llama.cpp's layout (what `convert_lora_to_gguf.py` and
/// llama.cpp's fine-tuning write, and what `llama-cli --lora` loads):
///
/// - metadata `general.type = adapter`, `general.architecture` (the base model's),
///   `adapter.type = lora`, `adapter.lora.alpha` (float32);
/// - per site, `blk.N.<tensor>.weight.lora_a` with GGUF shape [inputs, rank] (row-major
///   rank × inputs: our A) and `….lora_b` with shape [rank, outputs] (outputs × rank: our B).
///
/// Tern writes F32 and reads F32, F16 and BF16.
public struct LoRAAdapterFile: Sendable {
    public let adapter: LoRAAdapter
    /// `general.architecture`: the architecture of the base model it was trained on.
    public let architecture: String
    /// `general.name`, when present.
    public let name: String?

    /// The adapter in `path` (structure checked; see `validate(_:against:)` for the base).
    public static func read(path: String) throws -> LoRAAdapter {
        try open(path: path).adapter
    }

    /// The adapter in `path` with its header fields.
    public static func open(path: String) throws -> LoRAAdapterFile {
        try LoRAAdapterFile(file: try GGUFFile(path: path), path: path)
    }

    public init(file: GGUFFile, path: String) throws {
        func string(_ key: String) throws -> String {
            guard let value = file.metadata[key] else { throw LoRAFileError.missingKey(path: path, key: key) }
            guard let text = value.stringValue else { throw LoRAFileError.badValue(path: path, key: key, expected: "a string") }
            return text
        }
        let type = try string("general.type")
        guard type == "adapter" else { throw LoRAFileError.notAnAdapter(path: path, generalType: type) }
        let adapterType = try string("adapter.type")
        guard adapterType == "lora" else { throw LoRAFileError.unsupportedAdapterType(path: path, type: adapterType) }
        architecture = try string("general.architecture")
        name = file.metadata["general.name"]?.stringValue
        guard let alphaValue = file.metadata["adapter.lora.alpha"] else {
            throw LoRAFileError.missingKey(path: path, key: "adapter.lora.alpha")
        }
        guard let alpha = alphaValue.doubleValue, alpha.isFinite, alpha > 0 else {
            throw LoRAFileError.badValue(path: path, key: "adapter.lora.alpha", expected: "a positive number")
        }

        var halves: [LoRASite: (a: GGUFTensorInfo?, b: GGUFTensorInfo?)] = [:]
        for tensor in file.tensors {
            guard let (site, half) = Self.parseTensorName(tensor.name) else {
                throw LoRAFileError.unknownTensor(path: path, name: tensor.name)
            }
            if half == .a { halves[site, default: (nil, nil)].a = tensor } else { halves[site, default: (nil, nil)].b = tensor }
        }
        guard !halves.isEmpty else { throw LoRAFileError.noTensors(path: path) }

        var rank: Int?
        var weights: [LoRASite: LoRAWeights] = [:]
        for site in halves.keys.sorted() {
            let pair = halves[site]!
            guard let a = pair.a, let b = pair.b else {
                throw LoRAFileError.missingHalf(path: path, name: site.baseTensorName + (pair.a == nil ? ".lora_a" : ".lora_b"))
            }
            guard a.dimensions.count == 2, b.dimensions.count == 2 else {
                throw LoRAFileError.badShape(path: path, name: site.baseTensorName, detail: "lora_a and lora_b must be 2-D")
            }
            let (inputs, r) = (a.dimensions[0], a.dimensions[1])
            let (rb, outputs) = (b.dimensions[0], b.dimensions[1])
            guard r == rb, r > 0 else {
                throw LoRAFileError.badShape(path: path, name: site.baseTensorName,
                                             detail: "lora_a has rank \(r) but lora_b has rank \(rb)")
            }
            if let rank, rank != r {
                throw LoRAFileError.mixedRanks(path: path, name: site.baseTensorName, rank: r, expected: rank)
            }
            rank = r
            weights[site] = try LoRAWeights(inputs: inputs, outputs: outputs, rank: r,
                                            a: try Self.floats(a, file: file, path: path),
                                            b: try Self.floats(b, file: file, path: path))
        }
        adapter = LoRAAdapter(rank: rank!, alpha: Float(alpha), weights: weights)
    }

    /// Writes `adapter` for the model in `baseModel` (whose architecture it records), F32,
    /// after checking it fits that model.
    public static func write(_ adapter: LoRAAdapter, to path: String, baseModel: GGUFFile) throws {
        try writer(for: adapter, baseModel: baseModel).write(to: path)
    }

    /// The file `write` would write, as bytes (a job's result travels as a blob, not a path).
    public static func serialized(_ adapter: LoRAAdapter, baseModel: GGUFFile) throws -> [UInt8] {
        try writer(for: adapter, baseModel: baseModel).serialized()
    }

    private static func writer(for adapter: LoRAAdapter, baseModel: GGUFFile) throws -> GGUFWriter {
        try validate(adapter, against: baseModel)
        guard let architecture = baseModel.metadata["general.architecture"]?.stringValue else {
            throw LoRAFileError.baseMismatch("the base model has no general.architecture")
        }
        var writer = try GGUFWriter()
        try writer.set("general.architecture", .string(architecture))
        try writer.set("general.type", .string("adapter"))
        try writer.set("general.name", .string("LoRA Adapter"))
        try writer.set("adapter.type", .string("lora"))
        try writer.set("adapter.lora.alpha", .float32(adapter.alpha))
        for site in adapter.sites {
            let w = adapter.weights[site]!
            try writer.addTensor(name: site.baseTensorName + ".lora_a", type: .f32, dimensions: [w.inputs, w.rank], data: bytes(w.a))
            try writer.addTensor(name: site.baseTensorName + ".lora_b", type: .f32, dimensions: [w.rank, w.outputs], data: bytes(w.b))
        }
        return writer
    }

    /// Checks that every site of `adapter` names a projection of `baseModel` with the
    /// same shape, and that all pairs have the adapter's rank.
    public static func validate(_ adapter: LoRAAdapter, against baseModel: GGUFFile) throws {
        for site in adapter.sites {
            let w = adapter.weights[site]!
            guard w.rank == adapter.rank else {
                throw LoRAFileError.baseMismatch("\(site.baseTensorName): rank \(w.rank), but the adapter's rank is \(adapter.rank)")
            }
            guard let base = baseModel.tensor(named: site.baseTensorName) else {
                throw LoRAFileError.baseMismatch("the base model has no tensor \(site.baseTensorName)")
            }
            guard base.dimensions.count == 2, base.rowLength == w.inputs, base.rowCount == w.outputs else {
                throw LoRAFileError.baseMismatch("\(site.baseTensorName) is \(base.rowCount)×\(base.rowLength) (outputs×inputs) "
                    + "in the base model but \(w.outputs)×\(w.inputs) in the adapter")
            }
        }
    }

    enum Half { case a, b }

    /// `blk.N.attn_q.weight.lora_a` → (site, .a); nil for any other name.
    static func parseTensorName(_ name: String) -> (LoRASite, Half)? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "blk", parts[3] == "weight",
              let layer = Int(parts[1]), layer >= 0, String(layer) == parts[1],
              let target = LoRATarget.allCases.first(where: { $0.tensorName == parts[2] }) else { return nil }
        switch parts[4] {
        case "lora_a": return (LoRASite(layer: layer, target: target), .a)
        case "lora_b": return (LoRASite(layer: layer, target: target), .b)
        default: return nil
        }
    }

    private static func floats(_ tensor: GGUFTensorInfo, file: GGUFFile, path: String) throws -> [Float] {
        guard let element = FloatElementType(ggmlType: tensor.type.rawValue) else {
            throw LoRAFileError.unsupportedType(path: path, name: tensor.name, type: tensor.type.description)
        }
        let matrix = try FloatMatrix(elementType: element, rows: tensor.rowCount, cols: tensor.rowLength,
                                     bytes: file.data(of: tensor), owner: file)
        var values: [Float] = []
        values.reserveCapacity(tensor.elementCount)
        for row in 0..<matrix.rows { values += try matrix.row(row) }
        return values
    }

    private static func bytes(_ values: [Float]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }
}

public enum LoRAFileError: Error, CustomStringConvertible, Equatable {
    case notAnAdapter(path: String, generalType: String)
    case unsupportedAdapterType(path: String, type: String)
    case missingKey(path: String, key: String)
    case badValue(path: String, key: String, expected: String)
    case unknownTensor(path: String, name: String)
    case missingHalf(path: String, name: String)
    case badShape(path: String, name: String, detail: String)
    case mixedRanks(path: String, name: String, rank: Int, expected: Int)
    case unsupportedType(path: String, name: String, type: String)
    case noTensors(path: String)
    case baseMismatch(String)

    public var description: String {
        switch self {
        case .notAnAdapter(let path, let type):
            "\(path) is not an adapter (general.type is '\(type)', expected 'adapter')"
        case .unsupportedAdapterType(let path, let type):
            "\(path): adapter.type is '\(type)'; only 'lora' is supported"
        case .missingKey(let path, let key):
            "\(path): missing metadata key \(key)"
        case .badValue(let path, let key, let expected):
            "\(path): \(key) must be \(expected)"
        case .unknownTensor(let path, let name):
            "\(path): unknown adapter tensor '\(name)' (expected blk.N.<\(LoRATarget.allCases.map(\.tensorName).joined(separator: "|"))>.weight.lora_a or .lora_b)"
        case .missingHalf(let path, let name):
            "\(path): missing tensor \(name) (each LoRA pair needs lora_a and lora_b)"
        case .badShape(let path, let name, let detail):
            "\(path): \(name): \(detail)"
        case .mixedRanks(let path, let name, let rank, let expected):
            "\(path): \(name) has rank \(rank) but other pairs have rank \(expected); Tern needs one rank per adapter"
        case .unsupportedType(let path, let name, let type):
            "\(path): \(name) is \(type); adapter tensors must be F32, F16 or BF16"
        case .noTensors(let path):
            "\(path): the adapter has no LoRA tensors"
        case .baseMismatch(let detail):
            "the adapter does not fit the base model: \(detail)"
        }
    }
}
