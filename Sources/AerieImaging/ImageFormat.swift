import Foundation

/// The image formats Aerie decodes, recognised from their first bytes (a file's name or declared type is not
/// trusted: a PDF renamed `.jpg` is not a JPEG).
public enum ImageFormat: String, Sendable, Hashable, CaseIterable, Codable {
    case jpeg
    case png
    case webp

    /// The format whose signature `bytes` start with, or nil.
    public static func sniff(_ bytes: some Collection<UInt8>) -> ImageFormat? {
        let head = Array(bytes.prefix(12))
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if head.count == 12, head[0..<4] == [0x52, 0x49, 0x46, 0x46][...], head[8..<12] == [0x57, 0x45, 0x42, 0x50][...] {
            return .webp
        }
        return nil
    }

    /// The format a `Content-Type` names (`image/jpeg`, `image/jpg`, `image/png`, `image/webp`; parameters ignored).
    public init?(contentType: String) {
        let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch type {
        case "image/jpeg", "image/jpg", "image/pjpeg": self = .jpeg
        case "image/png": self = .png
        case "image/webp": self = .webp
        default: return nil
        }
    }

    public var contentType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .webp: "image/webp"
        }
    }

    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .png: "png"
        case .webp: "webp"
        }
    }
}
