import AerieAuth
import AerieCore
import AerieImaging
import AerieText
import Crypto
import Foundation

/// Gallery's logic on the primitives: uploads checked before anything is stored, the processing an upload triggers,
/// listing and search, duplicates, share links and deletion. Every method takes the caller's user name and only ever
/// touches that user's photos; another user's photo is "not found", never "forbidden", so ids do not leak.
final class GalleryService: Sendable {
    let primitives: Primitives
    let configuration: GalleryConfiguration
    let tagger: any PhotoTagger
    let embedder: any SentenceEmbedder
    let vectors: any Vectors
    let signer: LinkSigner
    let now: @Sendable () -> Date

    var decoder: ImageDecoder { ImageDecoder(maxPixels: configuration.maxPixels) }

    private init(primitives: Primitives, configuration: GalleryConfiguration, tagger: any PhotoTagger, embedder: any SentenceEmbedder,
                 vectors: any Vectors, signer: LinkSigner, now: @escaping @Sendable () -> Date) {
        self.primitives = primitives
        self.configuration = configuration
        self.tagger = tagger
        self.embedder = embedder
        self.vectors = vectors
        self.signer = signer
        self.now = now
    }

    /// The service on `primitives`, with the bucket, tables and vector collection it needs created (idempotently).
    static func open(primitives: Primitives, configuration: GalleryConfiguration, tagger: any PhotoTagger,
                     embedder: any SentenceEmbedder, now: @escaping @Sendable () -> Date = { Date() }) async throws -> GalleryService {
        try await primitives.ensureAppBucket(GalleryKeys.bucket, app: GalleryApp.name)
        for table in [GalleryKeys.photos, GalleryKeys.shares, GalleryKeys.usage] {
            try await primitives.ensureAppTable(table, app: GalleryApp.name)
        }
        let vectors = try await primitives.ensureAppCollection(GalleryKeys.vectorCollection, dimensions: embedder.dimensions, metric: .cosine, app: GalleryApp.name)
        let signer = try await LinkSigner.load(tables: primitives.tables, table: GalleryKeys.settings, name: "link-signing-secret")
        primitives.appResources.claim(.table, GalleryKeys.settings.name, by: "the \(GalleryApp.name) app")
        return GalleryService(primitives: primitives, configuration: configuration, tagger: tagger, embedder: embedder,
                              vectors: vectors, signer: signer, now: now)
    }

    // MARK: - Uploads

    /// One file of an upload.
    struct Upload: Sendable {
        var data: Data
        var filename: String?
        /// The type the client declared (checked against the bytes' own type when it names an image type).
        var declaredType: String?
    }

    enum DuplicatePolicy: String, Sendable {
        /// Store an exact re-upload with `duplicate_of` naming the first copy.
        case keep
        /// Refuse it with 409.
        case refuse
    }

    /// A checked file, ready to store.
    private struct Checked {
        var upload: Upload
        var info: ImageInfo
        var sha256: String
        var hash: PerceptualHash
        var hasLocation: Bool
    }

    /// Checks every file (type, size, a full decode), then stores them all; nothing is stored when any file fails.
    func upload(owner: String, files: [Upload], duplicates: DuplicatePolicy) async throws -> [PhotoRecord] {
        guard !files.isEmpty else { throw AerieError.invalid("The upload has no photo; send an image body or multipart parts named `file`.", field: "file") }
        var checked: [Checked] = []
        for (index, file) in files.enumerated() {
            do {
                checked.append(try check(file))
            } catch var error as AerieError where files.count > 1 {
                error.message = "File \(index + 1) (\(file.filename ?? "unnamed")): \(error.message)"
                throw error
            }
        }
        // Exact duplicates: of an earlier photo, or of an earlier file of this upload.
        enum Original { case none, stored(String), inUpload(Int) }
        var originals: [Original] = []
        var firstInUpload: [String: Int] = [:]
        for (index, file) in checked.enumerated() {
            if let earlier = firstInUpload[file.sha256] {
                originals.append(.inUpload(earlier))
                if duplicates == .refuse {
                    throw AerieError(.conflict, "\(file.upload.filename ?? "A file") is sent twice in this upload; send it once.", field: "file")
                }
            } else if let stored = try await firstPhoto(owner: owner, sha256: file.sha256) {
                if duplicates == .refuse {
                    throw AerieError(.conflict, "\(file.upload.filename ?? "This photo") is an exact copy of your photo \(stored.id) (\(stored.filename)); "
                        + "upload without ?duplicates=refuse to keep it as a duplicate.", field: stored.id)
                }
                originals.append(.stored(stored.id))
            } else {
                originals.append(.none)
            }
            firstInUpload[file.sha256] = firstInUpload[file.sha256] ?? index
        }
        try await reserve(owner: owner, bytes: checked.reduce(0) { $0 + Int64($1.upload.data.count) })
        var records: [PhotoRecord] = []
        for (file, original) in zip(checked, originals) {
            let time = now()
            let duplicateOf: String? = switch original {
            case .none: nil
            case .stored(let id): id
            case .inUpload(let index): records[index].id
            }
            let record = PhotoRecord(
                id: TimeOrderedID.make(time), owner: owner, filename: Self.filename(file.upload.filename, format: file.info.format),
                format: file.info.format, width: file.info.width, height: file.info.height, bytes: Int64(file.upload.data.count),
                sha256: file.sha256, perceptualHash: file.hash, duplicateOf: duplicateOf, createdAt: time, hasLocation: file.hasLocation)
            do {
                // The record first: the original's write triggers processing, which reads it.
                try await primitives.tables.put(table: GalleryKeys.photos.name, item: record.item, owner: owner, condition: .absent)
                try await primitives.objects.put(bucket: GalleryKeys.bucket, key: record.originalKey, data: file.upload.data,
                                                 attributes: ObjectAttributes(contentType: record.format.contentType, metadata: ["owner": owner]))
            } catch {
                _ = try? await primitives.tables.delete(table: GalleryKeys.photos.name, key: Self.key(owner: owner, id: record.id))
                let unstored = checked.dropFirst(records.count).reduce(0) { $0 + Int64($1.upload.data.count) }
                try? await reserve(owner: owner, bytes: -unstored)
                throw error
            }
            records.append(record)
        }
        return records
    }

    /// Type, size and a full decode; the hashes.
    private func check(_ file: Upload) throws -> Checked {
        if let declared = file.declaredType, !declared.isEmpty {
            let type = declared.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            if !(type.hasPrefix("image/") || type == "application/octet-stream") || (type.hasPrefix("image/") && ImageFormat(contentType: type) == nil) {
                throw AerieError(.unsupportedMediaType, "Photos must be JPEG, PNG or WebP images (Content-Type image/jpeg, image/png or image/webp), not \(declared).")
            }
        }
        let (info, image) = try decoder.decode(file.data)
        let digest = Secrets.hex(SHA256.hash(data: file.data))
        return Checked(upload: file, info: info, sha256: digest, hash: PerceptualHash(image: image),
                       hasLocation: ImageLocation.isPresent(in: file.data))
    }

    /// A clean file name: the given one without directories or control characters, else `photo.<ext>`.
    static func filename(_ given: String?, format: ImageFormat) -> String {
        let base = (given ?? "").split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let clean = String(base.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(200).map(Character.init))
            .trimmingCharacters(in: .whitespaces)
        return clean.isEmpty || clean == "." || clean == ".." ? "photo.\(format.fileExtension)" : clean
    }

    /// The user's earliest photo with these bytes.
    private func firstPhoto(owner: String, sha256: String) async throws -> PhotoRecord? {
        let page = try await primitives.tables.query(table: GalleryKeys.photos.name,
                                                     TableQuery(index: "by_digest", partition: .string("\(owner)/\(sha256)"), limit: 1))
        return page.items.first.flatMap { PhotoRecord(item: $0.item) }
    }

    /// Adds `bytes` (negative to release) to the user's stored total; throws 413 when an addition passes the quota.
    func reserve(owner: String, bytes: Int64) async throws {
        let key = ItemKey(partition: .string(owner))
        for _ in 0..<20 {
            let stored = try await primitives.tables.get(table: GalleryKeys.usage.name, key: key)
            let used = Int64(stored?.item["bytes"]?.numberValue ?? 0)
            let total = max(0, used + bytes)
            if bytes > 0, total > configuration.quotaBytes {
                throw AerieError(.tooLarge, "This upload (\(Self.mebibytes(bytes))) would take your photos to \(Self.mebibytes(total)), "
                    + "over your quota of \(Self.mebibytes(configuration.quotaBytes)); delete some photos first.")
            }
            do {
                try await primitives.tables.put(table: GalleryKeys.usage.name, item: ["owner": .string(owner), "bytes": .number(Double(total))],
                                                owner: owner, condition: stored.map { .version($0.version) } ?? .absent)
                return
            } catch let error as AerieError where error.code == .conditionFailed {
                continue  // another upload or delete changed it; read again
            }
        }
        throw AerieError(.unavailable, "Your storage total is changing too often to update; try again.")
    }

    /// The user's stored bytes and quota.
    func usage(owner: String) async throws -> (used: Int64, quota: Int64) {
        let stored = try await primitives.tables.get(table: GalleryKeys.usage.name, key: ItemKey(partition: .string(owner)))
        return (Int64(stored?.item["bytes"]?.numberValue ?? 0), configuration.quotaBytes)
    }

    static func mebibytes(_ bytes: Int64) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }

    // MARK: - One photo

    static func key(owner: String, id: String) -> ItemKey {
        ItemKey(partition: .string(owner), sort: .string(id))
    }

    func photo(owner: String, id: String) async throws -> PhotoRecord? {
        try await stored(owner: owner, id: id)?.record
    }

    /// The caller's photo, or 404.
    func requirePhoto(owner: String, id: String) async throws -> PhotoRecord {
        guard let record = try await photo(owner: owner, id: id) else {
            throw AerieError.notFound("You have no photo \(id); GET /v1/apps/gallery/photos lists yours.")
        }
        return record
    }

    func stored(owner: String, id: String) async throws -> (record: PhotoRecord, version: Int64)? {
        guard let stored = try await primitives.tables.get(table: GalleryKeys.photos.name, key: Self.key(owner: owner, id: id)),
            let record = PhotoRecord(item: stored.item)
        else { return nil }
        return (record, stored.version)
    }

    /// The photo with `id` whoever owns it (signed links and processing).
    func photo(id: String) async throws -> PhotoRecord? {
        let page = try await primitives.tables.query(table: GalleryKeys.photos.name, TableQuery(index: "by_id", partition: .string(id), limit: 1))
        return page.items.first.flatMap { PhotoRecord(item: $0.item) }
    }

    /// Sets (or with nil or "" clears) the caption; a ready photo's search vector follows it.
    func setCaption(owner: String, id: String, caption: String?) async throws -> PhotoRecord {
        let text = caption?.trimmingCharacters(in: .whitespacesAndNewlines)
        for _ in 0..<10 {
            guard let (record, version) = try await stored(owner: owner, id: id) else {
                throw AerieError.notFound("You have no photo \(id); GET /v1/apps/gallery/photos lists yours.")
            }
            var updated = record
            updated.caption = (text?.isEmpty ?? true) ? nil : text
            do {
                try await primitives.tables.put(table: GalleryKeys.photos.name, item: updated.item, owner: owner, condition: .version(version))
            } catch let error as AerieError where error.code == .conditionFailed {
                continue
            }
            if updated.status == .ready { try await index(updated) }
            return updated
        }
        throw AerieError(.unavailable, "Photo \(id) is changing too often to update; try again.")
    }

    /// Deletes the photo with its original, thumbnails, search vector and share links; false when the caller has none.
    func delete(owner: String, id: String) async throws -> Bool {
        guard let record = try await photo(owner: owner, id: id) else { return false }
        guard try await primitives.tables.delete(table: GalleryKeys.photos.name, key: Self.key(owner: owner, id: id)) else { return false }
        try await removeFiles(of: record)
        for share in try await shareTokens(photo: id) {
            _ = try await primitives.tables.delete(table: GalleryKeys.shares.name, key: ItemKey(partition: .string(share)))
        }
        try await reserve(owner: owner, bytes: -record.bytes)
        return true
    }

    /// The original, thumbnails and vector of a photo whose record is gone.
    func removeFiles(of record: PhotoRecord) async throws {
        _ = try await primitives.objects.delete(bucket: GalleryKeys.bucket, key: record.originalKey)
        for size in ThumbnailSize.allCases {
            _ = try await primitives.objects.delete(bucket: GalleryKeys.bucket, key: GalleryKeys.thumbnailKey(record.id, size))
        }
        _ = try await vectors.remove(ids: [record.id])
    }

    // MARK: - Search vectors

    /// Embeds the photo's labels and caption into the vector collection, with the fields search filters on.
    func index(_ record: PhotoRecord) async throws {
        let vector = try embedder.embed([record.searchText])[0]
        var metadata: [String: KeyValue] = ["owner": .string(record.owner), "created_at": .number(record.createdAt.timeIntervalSince1970)]
        for (index, tag) in record.tags.prefix(3).enumerated() {
            metadata["tag\(index)"] = .string(tag.label.lowercased())
        }
        try await vectors.upsert(id: record.id, vector: vector, metadata: metadata)
    }
}
