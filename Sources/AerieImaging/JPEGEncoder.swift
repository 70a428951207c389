import AerieCore
import CAerieImageCodecs
import Foundation

/// Encodes RGB images as JPEG with libjpeg-turbo (thumbnails). The output carries no metadata at all.
public enum JPEGEncoder {
    /// The JPEG bytes of `image` at `quality` (1–100).
    public static func encode(_ image: RGBImage, quality: Int = 85) throws -> Data {
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = withMessage { message, messageSize in
            image.pixels.withUnsafeBufferPointer {
                aerie_jpeg_encode($0.baseAddress!, Int32(image.width), Int32(image.height), Int32(min(100, max(1, quality))),
                                  &output, &size, message, messageSize)
            }
        }
        guard status.code == 0, let output else {
            throw AerieError(.internal, "JPEG encoding failed: \(status.message)")
        }
        defer { aerie_codec_free(output) }
        return Data(bytes: output, count: size)
    }
}
