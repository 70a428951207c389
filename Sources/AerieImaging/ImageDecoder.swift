import AerieCore
import CAerieImageCodecs
import Foundation

/// What an image's header says, read without decoding its pixels.
public struct ImageInfo: Sendable, Hashable {
    public var format: ImageFormat
    /// The size as seen (after ``orientation``).
    public var width: Int
    public var height: Int
    public var orientation: ExifOrientation

    public var pixelCount: Int { width * height }
}

/// Checks and decodes uploaded images with libjpeg-turbo, libpng and libwebp.
///
/// The checks come in the order that keeps a hostile file cheap: the type from the first bytes (415 for anything
/// that is not JPEG, PNG or WebP), then the header's size against ``maxPixels`` before any pixel is allocated (413,
/// which stops decompression bombs: a small file that claims a huge canvas), then a full decode in which every codec
/// warning counts as damage (422: libjpeg-turbo only warns about a truncated file and fills the rest with grey).
public struct ImageDecoder: Sendable {
    /// The largest image accepted, in pixels (default 40 megapixels).
    public var maxPixels: Int

    public init(maxPixels: Int = 40_000_000) {
        self.maxPixels = maxPixels
    }

    /// The header of `data`: format, size and orientation; throws 415, 413 or 422 as described above.
    public func probe(_ data: Data) throws -> ImageInfo {
        guard let format = ImageFormat.sniff(data) else {
            throw AerieError(.unsupportedMediaType, "This is not a JPEG, PNG or WebP image (its first bytes match none of them).")
        }
        var width: Int32 = 0
        var height: Int32 = 0
        let status = withMessage { message, size in
            data.withUnsafeBytes { raw -> Int32 in
                let bytes = raw.bindMemory(to: UInt8.self).baseAddress!
                switch format {
                case .jpeg: return aerie_jpeg_probe(bytes, raw.count, &width, &height, message, size)
                case .png: return aerie_png_probe(bytes, raw.count, &width, &height, message, size)
                case .webp: return aerie_webp_probe(bytes, raw.count, &width, &height, message, size)
                }
            }
        }
        if status.code != 0 || width <= 0 || height <= 0 {
            throw AerieError(.unprocessable, "The \(format.rawValue.uppercased()) file is damaged: \(status.message.isEmpty ? "its header is unreadable" : status.message).")
        }
        let orientation = format == .jpeg
            ? data.withUnsafeBytes { ExifOrientation(rawValue: Int(aerie_exif_orientation($0.bindMemory(to: UInt8.self).baseAddress!, $0.count))) ?? .up }
            : .up
        let stored = (Int(width), Int(height))
        let info = ImageInfo(format: format, width: orientation.swapsDimensions ? stored.1 : stored.0,
                             height: orientation.swapsDimensions ? stored.0 : stored.1, orientation: orientation)
        guard info.pixelCount <= maxPixels else {
            throw AerieError(.tooLarge, "The image is \(info.width) × \(info.height) (\(Self.megapixels(info.pixelCount)) megapixels); the limit is \(Self.megapixels(maxPixels)) megapixels.")
        }
        return info
    }

    /// The whole image, decoded and turned upright; throws 415, 413 or 422.
    public func decode(_ data: Data) throws -> (info: ImageInfo, image: RGBImage) {
        let info = try probe(data)
        let storedWidth = info.orientation.swapsDimensions ? info.height : info.width
        let storedHeight = info.orientation.swapsDimensions ? info.width : info.height
        var pixels = [UInt8](repeating: 0, count: storedWidth * storedHeight * 3)
        let status = withMessage { message, size in
            data.withUnsafeBytes { raw -> Int32 in
                let bytes = raw.bindMemory(to: UInt8.self).baseAddress!
                return pixels.withUnsafeMutableBufferPointer { out -> Int32 in
                    let w = Int32(storedWidth)
                    let h = Int32(storedHeight)
                    switch info.format {
                    case .jpeg: return aerie_jpeg_decode(bytes, raw.count, out.baseAddress!, w, h, message, size)
                    case .png: return aerie_png_decode(bytes, raw.count, out.baseAddress!, w, h, message, size)
                    case .webp: return aerie_webp_decode(bytes, raw.count, out.baseAddress!, w, h, message, size)
                    }
                }
            }
        }
        if status.code != 0 {
            throw AerieError(.unprocessable, "The \(info.format.rawValue.uppercased()) file is truncated or corrupt: \(status.message.isEmpty ? "it does not decode" : status.message).")
        }
        let image = RGBImage(width: storedWidth, height: storedHeight, pixels: pixels).oriented(info.orientation)
        return (info, image)
    }

    static func megapixels(_ pixels: Int) -> String {
        String(format: "%.1f", Double(pixels) / 1_000_000)
    }
}

/// Runs a codec call with a message buffer and returns its status and message.
func withMessage(_ body: (UnsafeMutablePointer<CChar>, Int) throws -> Int32) rethrows -> (code: Int32, message: String) {
    var buffer = [CChar](repeating: 0, count: 256)
    let code = try buffer.withUnsafeMutableBufferPointer { try body($0.baseAddress!, $0.count) }
    let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return (code, message)
}
