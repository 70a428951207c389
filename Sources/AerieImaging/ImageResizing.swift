extension RGBImage {
    /// The image scaled to fit `longSide` pixels on its longer side, keeping its aspect ratio; an image already that
    /// small is returned as it is (thumbnails never enlarge).
    public func fitted(longSide: Int) -> RGBImage {
        precondition(longSide > 0)
        let long = max(width, height)
        guard long > longSide else { return self }
        let scale = Double(longSide) / Double(long)
        return resized(width: max(1, Int((Double(width) * scale).rounded())), height: max(1, Int((Double(height) * scale).rounded())))
    }

    /// The image scaled to exactly `width` × `height`: each output pixel is the area-weighted mean of the source
    /// pixels it covers (a box filter, which does not alias when shrinking a photo by a large factor); enlarging
    /// falls back to bilinear interpolation.
    public func resized(width newWidth: Int, height newHeight: Int) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0)
        if newWidth == width && newHeight == height { return self }
        if newWidth > width || newHeight > height { return bilinear(width: newWidth, height: newHeight) }
        // Shrink in two separable passes: rows, then columns, each with precomputed spans and weights.
        let columns = AreaSpans(source: width, target: newWidth)
        let rows = AreaSpans(source: height, target: newHeight)
        var horizontal = [Float](repeating: 0, count: newWidth * height * 3)
        pixels.withUnsafeBufferPointer { source in
            horizontal.withUnsafeMutableBufferPointer { target in
                for y in 0..<height {
                    let row = y * width * 3
                    for x in 0..<newWidth {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for (index, weight) in columns.weights[x] {
                            let at = row + index * 3
                            r += Float(source[at]) * weight
                            g += Float(source[at + 1]) * weight
                            b += Float(source[at + 2]) * weight
                        }
                        let to = (y * newWidth + x) * 3
                        target[to] = r
                        target[to + 1] = g
                        target[to + 2] = b
                    }
                }
            }
        }
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
        horizontal.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for y in 0..<newHeight {
                    for x in 0..<newWidth {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for (index, weight) in rows.weights[y] {
                            let at = (index * newWidth + x) * 3
                            r += source[at] * weight
                            g += source[at + 1] * weight
                            b += source[at + 2] * weight
                        }
                        let to = (y * newWidth + x) * 3
                        target[to] = UInt8(clamping: Int((r + 0.5).rounded(.down)))
                        target[to + 1] = UInt8(clamping: Int((g + 0.5).rounded(.down)))
                        target[to + 2] = UInt8(clamping: Int((b + 0.5).rounded(.down)))
                    }
                }
            }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: out)
    }

    private func bilinear(width newWidth: Int, height newHeight: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
        let xScale = Double(width) / Double(newWidth)
        let yScale = Double(height) / Double(newHeight)
        for y in 0..<newHeight {
            let fy = max(0, min(Double(height - 1), (Double(y) + 0.5) * yScale - 0.5))
            let y0 = Int(fy), y1 = min(height - 1, y0 + 1)
            let wy = fy - Double(y0)
            for x in 0..<newWidth {
                let fx = max(0, min(Double(width - 1), (Double(x) + 0.5) * xScale - 0.5))
                let x0 = Int(fx), x1 = min(width - 1, x0 + 1)
                let wx = fx - Double(x0)
                for channel in 0..<3 {
                    let top = Double(pixels[(y0 * width + x0) * 3 + channel]) * (1 - wx) + Double(pixels[(y0 * width + x1) * 3 + channel]) * wx
                    let bottom = Double(pixels[(y1 * width + x0) * 3 + channel]) * (1 - wx) + Double(pixels[(y1 * width + x1) * 3 + channel]) * wx
                    out[(y * newWidth + x) * 3 + channel] = UInt8(clamping: Int((top * (1 - wy) + bottom * wy).rounded()))
                }
            }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: out)
    }
}

/// For each target pixel along one axis, the source pixels it covers and their weights (summing to 1).
struct AreaSpans {
    let weights: [[(Int, Float)]]

    init(source: Int, target: Int) {
        let scale = Double(source) / Double(target)
        weights = (0..<target).map { index in
            let start = Double(index) * scale
            let end = min(Double(source), start + scale)
            var spans: [(Int, Float)] = []
            var position = Int(start)
            while Double(position) < end {
                let covered = min(end, Double(position + 1)) - max(start, Double(position))
                if covered > 1e-9 { spans.append((position, Float(covered / scale))) }
                position += 1
            }
            return spans
        }
    }
}
