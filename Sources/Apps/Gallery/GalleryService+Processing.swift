import AerieCore
import AerieImaging
import Foundation

extension GalleryService {
    /// What processing an original did.
    struct ProcessOutput: Codable, Sendable, Equatable {
        var photo: String?
        var status: String
        var tags: [String]
    }

    /// The work an upload triggers (function `gallery-process`): both thumbnails, the top-3 tags, the search vector,
    /// then `ready`. A redelivered event for a photo already done, or for one deleted meanwhile, changes nothing; a
    /// photo deleted while it was being processed has what processing wrote removed again. A failure of the models
    /// marks the photo `failed` with the reason and keeps the original.
    func process(originalKey key: String) async throws -> ProcessOutput {
        guard let id = GalleryKeys.photoId(originalKey: key) else {
            throw AerieError.invalid("gallery-process takes objects originals/<id>.<ext> of bucket gallery, not \(key).", field: "/key")
        }
        guard let record = try await photo(id: id) else { return ProcessOutput(photo: id, status: "deleted", tags: []) }
        guard record.status == .processing else {
            return ProcessOutput(photo: id, status: record.status.rawValue, tags: record.tags.map(\.label))
        }
        var finished = record
        do {
            let original = try await primitives.objects.get(bucket: GalleryKeys.bucket, key: key, range: nil)
            let image = try decoder.decode(original.body).image
            for (size, longSide) in [(ThumbnailSize.small, configuration.smallThumbnail), (.medium, configuration.mediumThumbnail)] {
                let thumbnail = try JPEGEncoder.encode(image.fitted(longSide: longSide), quality: size == .small ? 80 : 85)
                try await primitives.objects.put(bucket: GalleryKeys.bucket, key: GalleryKeys.thumbnailKey(id, size), data: thumbnail,
                                                 attributes: ObjectAttributes(contentType: "image/jpeg", metadata: ["owner": record.owner]))
            }
            do {
                finished.tags = try tagger.tags(for: image, count: 3)
                finished.status = .ready
            } catch {
                // The classifier failed on this picture: retrying will not change that.
                finished.status = .failed
                finished.error = "The classifier failed: \((error as? AerieError)?.message ?? "\(error)")"
            }
        } catch let error as AerieError where error.code == .unprocessable || error.code == .tooLarge || error.code == .unsupportedMediaType {
            // The stored original no longer decodes (it passed at upload): keep it, say why.
            finished.status = .failed
            finished.error = error.message
        }
        // Save, keeping a caption set meanwhile (the version check), and index what was saved.
        for _ in 0..<10 {
            guard let (current, version) = try await stored(owner: record.owner, id: id) else {
                try await removeFiles(of: record)
                return ProcessOutput(photo: id, status: "deleted", tags: [])
            }
            var merged = current
            merged.status = finished.status
            merged.tags = finished.tags
            merged.error = finished.error
            if merged.status == .ready { try await index(merged) }
            do {
                try await primitives.tables.put(table: GalleryKeys.photos.name, item: merged.item, owner: record.owner, condition: .version(version))
            } catch let error as AerieError where error.code == .conditionFailed {
                continue
            }
            if try await stored(owner: record.owner, id: id) == nil { try await removeFiles(of: record) }
            return ProcessOutput(photo: id, status: merged.status.rawValue, tags: merged.tags.map(\.label))
        }
        throw AerieError(.unavailable, "Photo \(id) changed too often while it was processed; the retry will finish it.")
    }
}
