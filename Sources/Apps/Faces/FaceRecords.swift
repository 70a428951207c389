import AerieCore
import AerieFaces
import Foundation

/// Faces' bucket, tables, queue and vector collection. Every table is partitioned by the owning user, so a user's
/// reads never see another's rows.
enum FacesKeys {
    static let bucket = "faces"
    /// Face crops (`crops/<owner>/<face or sighting id>.jpg`) shown by the page.
    static func cropKey(owner: String, id: String) -> String { "crops/\(owner)/\(id).jpg" }

    static let vectorCollection = "faces_embeddings"
    /// Notifications of watched people, consumed by `faces-notify` (retried with backoff, then the dead-letter queue).
    static let notifyQueue = "faces-notify"

    static let people = TableSchema(name: "faces_people", partitionKey: "owner", sortKey: "id")
    /// Enrolled faces (with their embedding, so the vector collection can be rebuilt).
    static let faces = TableSchema(name: "faces_faces", partitionKey: "owner", sortKey: "id", indexes: [
        TableSchema.Index(name: "by_person", partitionKey: "owner_person", sortKey: "id"),
    ])
    /// Faces recognize saw without a match, kept for clustering until `expires_at` (the table's TTL purges them).
    static let sightings = TableSchema(name: "faces_sightings", partitionKey: "owner", sortKey: "id", ttlAttribute: "expires_at")
    static let watches = TableSchema(name: "faces_watches", partitionKey: "owner", sortKey: "id", indexes: [
        TableSchema.Index(name: "by_person", partitionKey: "owner_person", sortKey: "id"),
    ])

    static func ownerPerson(_ owner: String, _ person: String) -> String { "\(owner)/\(person)" }
}

/// Rows stored as their Codable encoding (snake_case keys, RFC 3339 dates).
protocol FacesRow: Codable, Sendable {}

extension FacesRow {
    func item() throws -> [String: JSONValue] {
        try JSONValue.parse(JSONCoding.encode(self)).objectValue ?? [:]
    }

    init?(item: [String: JSONValue]) {
        guard let row = try? JSONCoding.decoder.decode(Self.self, from: JSONValue.object(item).encoded()) else { return nil }
        self = row
    }
}

/// A known person of one user.
struct PersonRecord: FacesRow, Hashable {
    var owner: String
    var id: String
    var name: String
    var faces: Int
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case owner, id, name, faces
        case createdAt = "created_at"
    }

    var body: JSONValue {
        ["id": .string(id), "name": .string(name), "faces": .number(Double(faces)), "created_at": .string(RFC3339.string(from: createdAt))]
    }

    /// `{"id", "name"}`, as a match names a person.
    var reference: JSONValue { ["id": .string(id), "name": .string(name)] }
}

/// An enrolled face: one of a person's examples.
struct FaceRecord: FacesRow, Hashable {
    var owner: String
    var id: String
    var person: String
    var box: FaceBox
    var embedding: [Float]
    var createdAt: Date
    /// Where it came from: `upload` (enrolled directly) or `cluster` (named from recognized photos).
    var source: String
    var ownerPerson: String

    enum CodingKeys: String, CodingKey {
        case owner, id, person, box, embedding, source
        case createdAt = "created_at"
        case ownerPerson = "owner_person"
    }

    init(owner: String, id: String, person: String, box: FaceBox, embedding: [Float], createdAt: Date, source: String) {
        self.owner = owner
        self.id = id
        self.person = person
        self.box = box
        self.embedding = embedding
        self.createdAt = createdAt
        self.source = source
        ownerPerson = FacesKeys.ownerPerson(owner, person)
    }

    var body: JSONValue {
        ["id": .string(id), "person": .string(person), "box": FacesJSON.box(box), "source": .string(source),
         "created_at": .string(RFC3339.string(from: createdAt)), "image": .string("\(FacesRoutes.prefix)/crops/\(id)")]
    }
}

/// A face recognize found without a match, kept for clustering.
struct SightingRecord: FacesRow, Hashable {
    var owner: String
    var id: String
    /// The id recognize gave the photo.
    var photo: String
    var box: FaceBox
    var embedding: [Float]
    var createdAt: Date
    var expiresAt: Double

    enum CodingKeys: String, CodingKey {
        case owner, id, photo, box, embedding
        case createdAt = "created_at"
        case expiresAt = "expires_at"
    }
}

/// A watch: notify `email` or `webhook_url` when `person` is recognized.
struct WatchRecord: FacesRow, Hashable {
    var owner: String
    var id: String
    var person: String
    var email: String?
    var webhookURL: String?
    /// The key a webhook's body is signed with (HMAC-SHA256), shown once when the watch is created.
    var secret: String?
    var createdAt: Date
    var ownerPerson: String

    enum CodingKeys: String, CodingKey {
        case owner, id, person, email, secret
        case webhookURL = "webhook_url"
        case createdAt = "created_at"
        case ownerPerson = "owner_person"
    }

    var body: JSONValue {
        var body: [String: JSONValue] = ["id": .string(id), "person_id": .string(person), "created_at": .string(RFC3339.string(from: createdAt))]
        if let email { body["email"] = .string(email) }
        if let webhookURL { body["webhook_url"] = .string(webhookURL) }
        return .object(body)
    }
}

enum FacesJSON {
    static func box(_ box: FaceBox) -> JSONValue {
        ["x": .number(Double(box.x)), "y": .number(Double(box.y)), "width": .number(Double(box.width)), "height": .number(Double(box.height))]
    }

    /// A distance rounded to 4 decimals.
    static func distance(_ value: Float) -> JSONValue {
        .number((Double(value) * 10_000).rounded() / 10_000)
    }
}
