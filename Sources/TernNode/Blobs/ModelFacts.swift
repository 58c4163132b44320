import TernLedger
import TernMesh
import TernModel

/// What the `models` table records about a GGUF model, read from the file's header and
/// tensor table (never its weights), so a file that is not a model is refused before it is
/// hashed or copied.
struct ModelFacts: Sendable {
    var architecture: String
    var name: String?
    /// Tensor types, largest share of the file first.
    var tensorTypes: [String]

    init(path: String) throws {
        do {
            try self.init(file: GGUFFile(path: path), source: path)
        } catch let error as BlobError {
            throw error
        } catch {
            throw BlobError.notAModel(path: path, reason: "\(error)")
        }
    }

    init(bytes: [UInt8]) throws {
        do {
            try self.init(file: GGUFFile(bytes: bytes), source: "blob")
        } catch let error as BlobError {
            throw error
        } catch {
            throw BlobError.notAModel(path: "blob", reason: "\(error)")
        }
    }

    private init(file: GGUFFile, source: String) throws {
        if let type = file.metadata["general.type"]?.stringValue, type != "model" {
            throw BlobError.notAModel(path: source, reason: "general.type is '\(type)'")
        }
        guard let architecture = file.metadata["general.architecture"]?.stringValue else {
            throw BlobError.notAModel(path: source, reason: "no general.architecture")
        }
        self.architecture = architecture
        name = file.metadata["general.name"]?.stringValue
        var bytesByType: [String: Int] = [:]
        for tensor in file.tensors { bytesByType[tensor.type.description, default: 0] += tensor.byteCount }
        tensorTypes = bytesByType.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.map(\.key)
    }

    /// The blob id is the model's content hash: it is what peers gossip and ask for.
    func record(id: BlobID, name blobName: String?, size: UInt64, path: String) -> ModelRecord {
        ModelRecord(contentHash: id.hex, name: blobName ?? name ?? id.short, architecture: architecture,
                    fileSize: Int64(size), tensorTypes: tensorTypes, path: path, blobID: id.hex)
    }
}
