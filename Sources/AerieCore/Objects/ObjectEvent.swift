import Foundation

/// A change to an object, recorded durably with the change itself and delivered to triggers.
public struct ObjectEvent: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        case created
        case removed
    }

    /// The event-log topic object events are appended to.
    public static let topic = "aerie.objects"

    public var kind: Kind
    public var bucket: String
    public var key: String
    public var size: Int64
    public var etag: String
    public var contentType: String?
    public var metadata: [String: String]?
    public var time: Date

    public init(kind: Kind, bucket: String, key: String, size: Int64, etag: String, contentType: String? = nil, metadata: [String: String]? = nil, time: Date) {
        self.kind = kind
        self.bucket = bucket
        self.key = key
        self.size = size
        self.etag = etag
        self.contentType = contentType
        self.metadata = metadata
        self.time = time
    }
}
