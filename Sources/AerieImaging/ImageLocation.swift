import CAerieImageCodecs
import Foundation

/// Location metadata in uploaded photos: cameras and phones write GPS coordinates into the Exif data (and XMP).
/// A photo's owner downloads the original as uploaded; anything shown to others is stripped of location first.
public enum ImageLocation {
    /// Whether `data` (a JPEG) carries GPS coordinates in its Exif data.
    public static func isPresent(in data: Data) -> Bool {
        guard ImageFormat.sniff(data) == .jpeg else { return false }
        return data.withUnsafeBytes { aerie_jpeg_has_location($0.bindMemory(to: UInt8.self).baseAddress!, $0.count) != 0 }
    }

    /// `data` without location: for a JPEG, its Exif GPS directory removed (the rest of the Exif data, orientation
    /// included, kept) and its XMP segments dropped; PNG and WebP files are returned as they are (Aerie reads no
    /// metadata from them). Nil for a JPEG whose segments are malformed, which must then not be shared as it is.
    public static func stripped(_ data: Data) -> Data? {
        guard ImageFormat.sniff(data) == .jpeg else { return data }
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = data.withUnsafeBytes {
            aerie_jpeg_strip_location($0.bindMemory(to: UInt8.self).baseAddress!, $0.count, &output, &size)
        }
        guard status == 0, let output else { return nil }
        defer { aerie_codec_free(output) }
        return Data(bytes: output, count: size)
    }
}
