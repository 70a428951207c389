import Foundation

/// A generated picture: 8-bit RGB pixels, row-major, no padding.
public struct DiffusedImage: Sendable, Hashable {
    public var width: Int
    public var height: Int
    /// `width * height * 3` bytes, R, G, B per pixel, rows top to bottom.
    public var rgb: [UInt8]

    public init(width: Int, height: Int, rgb: [UInt8]) {
        self.width = width
        self.height = height
        self.rgb = rgb
    }

    /// The image as a PNG file (8-bit RGB, zlib-compressed).
    public var png: Data {
        PNGEncoder.encode(width: width, height: height, rgb: rgb)
    }
}
