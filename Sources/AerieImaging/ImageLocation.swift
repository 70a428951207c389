import CAerieImageCodecs
import Foundation

/// Location metadata in uploaded photos: cameras and phones write GPS coordinates into the Exif data (and XMP).
/// A photo's owner downloads the original as uploaded; anything shown to others is stripped of location first.
public enum ImageLocation {
    /// Whether `data` carries GPS coordinates in its Exif data (a JPEG's APP1 segment, a PNG's `eXIf` chunk, a
    /// WebP's `EXIF` chunk).
    public static func isPresent(in data: Data) -> Bool {
        switch ImageFormat.sniff(data) {
        case .jpeg?:
            return data.withUnsafeBytes { aerie_jpeg_has_location($0.bindMemory(to: UInt8.self).baseAddress!, $0.count) != 0 }
        case .png?:
            return PNGChunks(data)?.chunks.contains { $0.type == "eXIf" && exifHasLocation(tiff: $0.payload) } ?? false
        case .webp?:
            return WebPChunks(data)?.chunks.contains { $0.type == "EXIF" && exifHasLocation(tiff: $0.payload) } ?? false
        case nil:
            return false
        }
    }

    /// `data` without location. A JPEG keeps its Exif data without the GPS directory (orientation and the rest stay)
    /// and loses its XMP segments; a PNG or WebP loses its Exif and XMP chunks (Aerie reads no metadata from them).
    /// Nil for a file whose structure is malformed, which must then not be shared as it is.
    public static func stripped(_ data: Data) -> Data? {
        switch ImageFormat.sniff(data) {
        case .jpeg?:
            var output: UnsafeMutablePointer<UInt8>?
            var size = 0
            let status = data.withUnsafeBytes {
                aerie_jpeg_strip_location($0.bindMemory(to: UInt8.self).baseAddress!, $0.count, &output, &size)
            }
            guard status == 0, let output else { return nil }
            defer { aerie_codec_free(output) }
            return Data(bytes: output, count: size)
        case .png?:
            return PNGChunks(data)?.removing { $0.type == "eXIf" || (["iTXt", "tEXt", "zTXt"].contains($0.type) && $0.payload.starts(with: Data("XML:com.adobe.xmp".utf8))) }
        case .webp?:
            return WebPChunks(data)?.removing { $0.type == "EXIF" || $0.type == "XMP " }
        case nil:
            return nil
        }
    }

    /// Whether raw TIFF-structured Exif data (as PNG and WebP store it) has a GPS directory with entries.
    static func exifHasLocation(tiff: Data) -> Bool {
        let exif = Data("Exif\0\0".utf8) + tiff
        var jpeg = Data([0xFF, 0xD8, 0xFF, 0xE1, UInt8((exif.count + 2) >> 8), UInt8((exif.count + 2) & 0xFF)])
        jpeg += exif
        jpeg += Data([0xFF, 0xD9])
        return exif.count + 2 <= 65535
            && jpeg.withUnsafeBytes { aerie_jpeg_has_location($0.bindMemory(to: UInt8.self).baseAddress!, $0.count) != 0 }
    }
}

/// A PNG's chunks (length, type, payload, CRC), enough to drop metadata chunks and write the file again.
struct PNGChunks {
    struct Chunk {
        var type: String
        var payload: Data
        var raw: Data
    }

    static let signature = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    var chunks: [Chunk]

    init?(_ data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count >= 8, Data(bytes[0..<8]) == Self.signature else { return nil }
        var at = 8
        var chunks: [Chunk] = []
        while at + 12 <= bytes.count {
            let length = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            guard length >= 0, at + 12 + length <= bytes.count else { return nil }
            let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            chunks.append(Chunk(type: type, payload: Data(bytes[(at + 8)..<(at + 8 + length)]), raw: Data(bytes[at..<(at + 12 + length)])))
            at += 12 + length
            if type == "IEND" { break }
        }
        guard chunks.last?.type == "IEND" else { return nil }
        self.chunks = chunks
    }

    func removing(_ drop: (Chunk) -> Bool) -> Data {
        chunks.filter { !drop($0) }.reduce(Self.signature) { $0 + $1.raw }
    }
}

/// A WebP file's RIFF chunks; dropping the Exif and XMP ones also clears their flags in the `VP8X` header.
struct WebPChunks {
    struct Chunk {
        var type: String
        var payload: Data
    }

    var chunks: [Chunk]

    init?(_ data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count >= 12 else { return nil }
        var at = 12
        var chunks: [Chunk] = []
        while at + 8 <= bytes.count {
            let length = Int(bytes[at + 4]) | Int(bytes[at + 5]) << 8 | Int(bytes[at + 6]) << 16 | Int(bytes[at + 7]) << 24
            guard at + 8 + length <= bytes.count else { return nil }
            chunks.append(Chunk(type: String(decoding: bytes[at..<(at + 4)], as: UTF8.self), payload: Data(bytes[(at + 8)..<(at + 8 + length)])))
            at += 8 + length + (length & 1)
        }
        guard !chunks.isEmpty else { return nil }
        self.chunks = chunks
    }

    func removing(_ drop: (Chunk) -> Bool) -> Data {
        var body = Data("WEBP".utf8)
        for var chunk in chunks where !drop(chunk) {
            if chunk.type == "VP8X", !chunk.payload.isEmpty {
                chunk.payload[chunk.payload.startIndex] &= ~UInt8(0x08 | 0x04)  // the Exif and XMP flags
            }
            let length = UInt32(chunk.payload.count)
            body += Data(chunk.type.utf8)
            body += Data([UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), UInt8(length >> 24)])
            body += chunk.payload
            if chunk.payload.count & 1 == 1 { body.append(0) }
        }
        let size = UInt32(body.count)
        return Data("RIFF".utf8) + Data([UInt8(size & 0xFF), UInt8((size >> 8) & 0xFF), UInt8((size >> 16) & 0xFF), UInt8(size >> 24)]) + body
    }
}
