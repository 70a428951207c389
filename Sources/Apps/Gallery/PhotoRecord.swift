import AerieCore
import AerieImaging
import Foundation

/// One photo: a row of table `gallery_photos` (partition `owner`, sort `id`, time-ordered ids so a partition reads
/// newest first), its original at `originals/<id>.<ext>` of bucket `gallery` and its thumbnails under `thumbnails/<id>/`.
struct PhotoRecord: Sendable, Hashable {
    enum Status: String, Sendable, Codable {
        /// Stored; tags, thumbnails and search vectors are being made by `gallery-process`.
        case processing
        /// Tags, both thumbnails and the search vector are done.
        case ready
        /// Processing failed (`error` says why); the original is kept.
        case failed
    }

    struct Tag: Sendable, Hashable, Codable {
        var label: String
        var score: Double
    }

    var id: String
    var owner: String
    var filename: String
    var format: ImageFormat
    var width: Int
    var height: Int
    var bytes: Int64
    var sha256: String
    var perceptualHash: PerceptualHash
    var status: Status
    var tags: [Tag]
    var caption: String?
    var duplicateOf: String?
    var createdAt: Date
    var error: String?
    /// Whether the original carries GPS coordinates (which only its owner's download keeps).
    var hasLocation: Bool

    var originalKey: String { "\(GalleryKeys.originalsPrefix)\(id).\(format.fileExtension)" }

    /// `owner/sha256`: the exact-duplicate index's partition.
    var ownerDigest: String { "\(owner)/\(sha256)" }

    var item: [String: JSONValue] {
        var item: [String: JSONValue] = [
            "owner": .string(owner), "id": .string(id), "filename": .string(filename), "format": .string(format.rawValue),
            "width": .number(Double(width)), "height": .number(Double(height)), "bytes": .number(Double(bytes)),
            "sha256": .string(sha256), "owner_sha256": .string(ownerDigest), "phash": .string(perceptualHash.hex),
            "status": .string(status.rawValue),
            "tags": .array(tags.map { .object(["label": .string($0.label), "score": .number($0.score)]) }),
            "created_at": .number(createdAt.timeIntervalSince1970), "has_location": .bool(hasLocation),
        ]
        if let caption { item["caption"] = .string(caption) }
        if let duplicateOf { item["duplicate_of"] = .string(duplicateOf) }
        if let error { item["error"] = .string(error) }
        return item
    }

    init(id: String, owner: String, filename: String, format: ImageFormat, width: Int, height: Int, bytes: Int64, sha256: String,
         perceptualHash: PerceptualHash, status: Status = .processing, tags: [Tag] = [], caption: String? = nil,
         duplicateOf: String? = nil, createdAt: Date, error: String? = nil, hasLocation: Bool = false) {
        self.id = id
        self.owner = owner
        self.filename = filename
        self.format = format
        self.width = width
        self.height = height
        self.bytes = bytes
        self.sha256 = sha256
        self.perceptualHash = perceptualHash
        self.status = status
        self.tags = tags
        self.caption = caption
        self.duplicateOf = duplicateOf
        self.createdAt = createdAt
        self.error = error
        self.hasLocation = hasLocation
    }

    init?(item: [String: JSONValue]) {
        guard let id = item["id"]?.stringValue, let owner = item["owner"]?.stringValue,
            let filename = item["filename"]?.stringValue, let format = item["format"]?.stringValue.flatMap(ImageFormat.init(rawValue:)),
            let width = item["width"]?.numberValue, let height = item["height"]?.numberValue, let bytes = item["bytes"]?.numberValue,
            let sha256 = item["sha256"]?.stringValue, let hash = item["phash"]?.stringValue.flatMap(PerceptualHash.init(hex:)),
            let status = item["status"]?.stringValue.flatMap(Status.init(rawValue:)), let created = item["created_at"]?.numberValue
        else { return nil }
        let tags: [Tag] = (item["tags"]?.arrayValue ?? []).compactMap { tag in
            guard let label = tag["label"]?.stringValue, let score = tag["score"]?.numberValue else { return nil }
            return Tag(label: label, score: score)
        }
        self.init(id: id, owner: owner, filename: filename, format: format, width: Int(width), height: Int(height), bytes: Int64(bytes),
                  sha256: sha256, perceptualHash: hash, status: status, tags: tags, caption: item["caption"]?.stringValue,
                  duplicateOf: item["duplicate_of"]?.stringValue, createdAt: Date(timeIntervalSince1970: created),
                  error: item["error"]?.stringValue, hasLocation: item["has_location"] == .bool(true))
    }

    /// The text a photo is found by: its labels (ImageNet's names, with their synonyms) and its caption.
    var searchText: String {
        var text = "A photo of " + tags.map(\.label).joined(separator: ", ")
        if let caption, !caption.isEmpty { text += ". " + caption }
        return text
    }
}

/// Gallery's bucket, keys and tables.
enum GalleryKeys {
    static let bucket = "gallery"
    static let originalsPrefix = "originals/"
    static let thumbnailsPrefix = "thumbnails/"
    static let vectorCollection = "gallery_photos"

    static let photos = TableSchema(name: "gallery_photos", partitionKey: "owner", sortKey: "id", indexes: [
        TableSchema.Index(name: "by_id", partitionKey: "id"),
        TableSchema.Index(name: "by_digest", partitionKey: "owner_sha256", sortKey: "id"),
    ])
    /// Share links: partition `token`; the photo, its owner and the expiry (the table's TTL purges old ones).
    static let shares = TableSchema(name: "gallery_shares", partitionKey: "token", indexes: [
        TableSchema.Index(name: "by_photo", partitionKey: "photo", sortKey: "token"),
    ], ttlAttribute: "expires_at")
    /// Each user's stored bytes (the quota), one row per user, updated with conditional writes.
    static let usage = TableSchema(name: "gallery_usage", partitionKey: "owner")
    /// The link-signing secret.
    static let settings = TableSchema(name: "gallery_settings", partitionKey: "name")

    static func thumbnailKey(_ id: String, _ size: ThumbnailSize) -> String {
        "\(thumbnailsPrefix)\(id)/\(size.rawValue).jpg"
    }

    /// The photo id of an original's key (`originals/<id>.<ext>`).
    static func photoId(originalKey key: String) -> String? {
        guard key.hasPrefix(originalsPrefix) else { return nil }
        let name = key.dropFirst(originalsPrefix.count)
        guard let dot = name.lastIndex(of: "."), !name[..<dot].isEmpty, !name[..<dot].contains("/") else { return nil }
        return String(name[..<dot])
    }
}

/// The two thumbnail sizes.
enum ThumbnailSize: String, Sendable, CaseIterable {
    case small
    case medium
}
