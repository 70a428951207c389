import AerieCore
import AerieFaces
import AerieImaging
import Foundation
import NIOPosix

/// A photo sent to a Faces route: its bytes and the type the client declared.
struct FacePhoto: Sendable {
    var data: Data
    var declaredType: String?
    /// Which part of a form it was (for messages), or nil for a raw body.
    var part: String?
}

/// A face found in a photo, in the photo's own pixels, with its embedding when one was asked for.
struct FoundFace: Sendable {
    var face: DetectedFace
    var embedding: [Float]
}

/// Finds faces in uploaded photos: checks and decodes them (415 not an image, 413 too large, 422 corrupt, as
/// Gallery), scales them to ``FacesConfiguration/detectionLongSide`` for the detector, and maps boxes and landmarks
/// back to the photo's own pixels. The CPU work runs on NIO's blocking thread pool, never on Swift's cooperative
/// threads (a 150 ms detection there would stall every other request of the server).
struct FaceFinder: Sendable {
    let engine: FaceEngine
    let configuration: FacesConfiguration

    var decoder: ImageDecoder { ImageDecoder(maxPixels: configuration.maxPixels) }

    /// The decoded photo (orientation applied).
    func decode(_ photo: FacePhoto) async throws -> RGBImage {
        try Self.checkDeclaredType(photo)
        let decoder = self.decoder
        do {
            return try await NIOThreadPool.singleton.runIfActive { try decoder.decode(photo.data).image }
        } catch var error as AerieError {
            if let part = photo.part { error.message = "Part \(part): \(error.message)" }
            throw error
        }
    }

    /// Every face of `image` (largest-confidence first, as the detector orders them), with embeddings when `embed`.
    func faces(in image: RGBImage, embed: Bool) async throws -> [FoundFace] {
        let engine = self.engine
        let configuration = self.configuration
        return try await NIOThreadPool.singleton.runIfActive {
            let scaled = image.fitted(longSide: configuration.detectionLongSide)
            let factor = Float(image.width) / Float(scaled.width)
            let detected = try engine.detect(pixels: scaled.pixels, width: scaled.width, height: scaled.height,
                                             upsample: configuration.upsample, detector: configuration.detector)
            let embeddings = embed ? try engine.embed(pixels: scaled.pixels, width: scaled.width, height: scaled.height, faces: detected)
                : Array(repeating: [], count: detected.count)
            return zip(detected, embeddings).map { face, embedding in
                FoundFace(face: Self.scale(face, by: factor, within: image), embedding: embedding)
            }
        }
    }

    /// A face crop for the page: the box with a margin of a quarter of its size, at most 160 px on its long side.
    func crop(_ image: RGBImage, box: FaceBox) async throws -> Data {
        try await NIOThreadPool.singleton.runIfActive {
            let margin = max(box.width, box.height) / 4
            let part = image.cropped(x: box.x - margin, y: box.y - margin, width: box.width + 2 * margin, height: box.height + 2 * margin)
            return try JPEGEncoder.encode(part.fitted(longSide: 160), quality: 85)
        }
    }

    static func scale(_ face: DetectedFace, by factor: Float, within image: RGBImage) -> DetectedFace {
        guard factor != 1 else { return face }
        var scaled = face
        let x = Int((Float(face.box.x) * factor).rounded()), y = Int((Float(face.box.y) * factor).rounded())
        scaled.box = FaceBox(x: x, y: y, width: min(image.width - x, Int((Float(face.box.width) * factor).rounded())),
                             height: min(image.height - y, Int((Float(face.box.height) * factor).rounded())))
        scaled.landmarks = face.landmarks.map { FacePoint(x: $0.x * factor, y: $0.y * factor) }
        return scaled
    }

    /// A declared type that is not an image (or is an image type Aerie does not decode) is 415 before any decoding.
    static func checkDeclaredType(_ photo: FacePhoto) throws {
        guard let declared = photo.declaredType, !declared.isEmpty else { return }
        let type = declared.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if type == "application/octet-stream" { return }
        guard type.hasPrefix("image/"), ImageFormat(contentType: type) != nil else {
            throw AerieError(.unsupportedMediaType, "\(photo.part.map { "Part \($0): " } ?? "")Photos must be JPEG, PNG or WebP images "
                + "(Content-Type image/jpeg, image/png or image/webp), not \(declared).")
        }
    }
}
