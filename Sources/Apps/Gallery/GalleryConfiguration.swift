import AerieCore
import Foundation

/// Gallery's limits and settings (`AERIE_GALLERY_*` for `aerie serve`).
public struct GalleryConfiguration: Sendable, Hashable {
    /// The largest photo accepted, in pixels (413 beyond; decompression bombs included).
    public var maxPixels: Int = 40_000_000
    /// The largest request body of an upload (all its files together), in bytes.
    public var maxUploadBytes: Int = 64 << 20
    /// Each user's storage quota: the originals' bytes together (413 when an upload would pass it).
    public var quotaBytes: Int64 = 2 << 30
    /// How long a photo's `url` and thumbnail URLs work without credentials.
    public var linkLifetime: TimeInterval = 900
    /// The longest share link a user may ask for.
    public var maxShareLifetime: TimeInterval = 30 * 24 * 3600
    /// Search results below this cosine similarity are left out (unrelated photos score about 0.0–0.15).
    public var searchFloor: Float = 0.2
    /// The long side of the two thumbnails, in pixels.
    public var smallThumbnail = 256
    public var mediumThumbnail = 1024
    /// Threads for each model's inference.
    public var threads = 1

    public init() {}

    /// The configuration from `AERIE_GALLERY_MAX_MEGAPIXELS`, `AERIE_GALLERY_QUOTA_MIB`, `AERIE_GALLERY_MAX_UPLOAD_MIB`,
    /// `AERIE_GALLERY_SEARCH_FLOOR` and `AERIE_GALLERY_THREADS`; a malformed value is an error naming the variable.
    public static func fromEnvironment(_ environment: [String: String]) throws -> GalleryConfiguration {
        var configuration = GalleryConfiguration()
        func number(_ name: String) throws -> Double? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Double(text), value > 0 else {
                throw AerieError.invalid("\(name) must be a positive number, not \"\(text)\".", field: name)
            }
            return value
        }
        if let value = try number("AERIE_GALLERY_MAX_MEGAPIXELS") { configuration.maxPixels = Int(value * 1_000_000) }
        if let value = try number("AERIE_GALLERY_QUOTA_MIB") { configuration.quotaBytes = Int64(value * 1_048_576) }
        if let value = try number("AERIE_GALLERY_MAX_UPLOAD_MIB") { configuration.maxUploadBytes = Int(value * 1_048_576) }
        if let value = try number("AERIE_GALLERY_SEARCH_FLOOR") { configuration.searchFloor = Float(min(1, value)) }
        if let value = try number("AERIE_GALLERY_THREADS") { configuration.threads = max(1, Int(value)) }
        return configuration
    }
}
