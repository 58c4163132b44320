import Foundation

/// `GET /v1/models` in OpenAI's list shape.
public struct OpenAIModelList: Codable, Sendable, Equatable {
    public var object = "list"
    public var data: [OpenAIModel]

    public init(data: [OpenAIModel]) { self.data = data }
}

/// One model a client can name in a request.
public struct OpenAIModel: Codable, Sendable, Equatable {
    public var id: String
    public var object = "model"
    /// Unix seconds: when this node registered the model, or first heard a peer list it.
    public var created: Int
    /// Who serves it: this node's or the one peer's fingerprint, or `mesh` when several peers do.
    public var ownedBy: String

    public init(id: String, created: Int, ownedBy: String) {
        self.id = id; self.created = created; self.ownedBy = ownedBy
    }

    enum CodingKeys: String, CodingKey {
        case id, object, created
        case ownedBy = "owned_by"
    }
}

/// The models a request through this node can name: the ones it holds, by registered name
/// and by blob id, and the ones live peers advertise in their signed profiles (by blob id:
/// a profile lists content hashes, not names).
public enum ModelCatalog {
    public static func list(local: [BlobInfo], members: [MemberSummary], selfFingerprint: String) -> OpenAIModelList {
        var models: [OpenAIModel] = []
        var seen: Set<String> = []
        func add(_ model: OpenAIModel) {
            if seen.insert(model.id).inserted { models.append(model) }
        }
        let held = local.filter { $0.kind == .model && $0.complete }.sorted { $0.createdAt > $1.createdAt }
        for blob in held {
            let created = Int(blob.createdAt.timeIntervalSince1970)
            if let name = blob.name, !name.isEmpty { add(OpenAIModel(id: name, created: created, ownedBy: selfFingerprint)) }
            add(OpenAIModel(id: blob.id.hex, created: created, ownedBy: selfFingerprint))
        }
        var holders: [String: [String]] = [:]
        for member in members where !member.isSelf && member.state == "alive" {
            for model in member.models where !seen.contains(model) {
                holders[model, default: []].append(member.fingerprint)
            }
        }
        for (model, fingerprints) in holders.sorted(by: { $0.key < $1.key }) {
            add(OpenAIModel(id: model, created: 0, ownedBy: fingerprints.count == 1 ? fingerprints[0] : "mesh"))
        }
        return OpenAIModelList(data: models)
    }
}
