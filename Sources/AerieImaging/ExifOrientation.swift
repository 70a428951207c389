/// The EXIF orientation tag (1–8): how a camera's stored pixels must be turned to be seen upright.
public enum ExifOrientation: Int, Sendable, Hashable {
    case up = 1
    case mirrored = 2
    case upsideDown = 3
    case upsideDownMirrored = 4
    case leftMirrored = 5
    case right = 6
    case rightMirrored = 7
    case left = 8

    /// Whether the upright image swaps the stored width and height.
    public var swapsDimensions: Bool { rawValue >= 5 }
}

extension RGBImage {
    /// The image as it is meant to be seen: `orientation` applied (a no-op for `.up`).
    public func oriented(_ orientation: ExifOrientation) -> RGBImage {
        if orientation == .up { return self }
        let outWidth = orientation.swapsDimensions ? height : width
        let outHeight = orientation.swapsDimensions ? width : height
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        // The stored pixel that lands at (x, y) of the upright image.
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case .up: (sx, sy) = (x, y)
                        case .mirrored: (sx, sy) = (width - 1 - x, y)
                        case .upsideDown: (sx, sy) = (width - 1 - x, height - 1 - y)
                        case .upsideDownMirrored: (sx, sy) = (x, height - 1 - y)
                        case .leftMirrored: (sx, sy) = (y, x)
                        case .right: (sx, sy) = (y, height - 1 - x)
                        case .rightMirrored: (sx, sy) = (width - 1 - y, height - 1 - x)
                        case .left: (sx, sy) = (width - 1 - y, x)
                        }
                        let from = (sy * width + sx) * 3
                        let to = (y * outWidth + x) * 3
                        target[to] = source[from]
                        target[to + 1] = source[from + 1]
                        target[to + 2] = source[from + 2]
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }
}
