extension RGBImage {
    /// The part of the image inside the rectangle, clipped to the image (at least one pixel).
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) -> RGBImage {
        let left = min(max(0, x), width - 1)
        let top = min(max(0, y), height - 1)
        let right = min(width, max(left + 1, x + cropWidth))
        let bottom = min(height, max(top + 1, y + cropHeight))
        let outWidth = right - left
        var out = [UInt8](repeating: 0, count: outWidth * (bottom - top) * 3)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for row in top..<bottom {
                    let from = (row * width + left) * 3
                    let to = (row - top) * outWidth * 3
                    for index in 0..<(outWidth * 3) { target[to + index] = source[from + index] }
                }
            }
        }
        return RGBImage(width: outWidth, height: bottom - top, pixels: out)
    }
}
