import AerieAuth
import AerieCore
import AerieFunctions
import AerieHTTP
import AerieImaging
import AerieStreaming
import Foundation
import HTTPTypes
import Hummingbird

/// The Gallery API under `/v1/apps/gallery/`: any signed-in user, each seeing only their own photos (another user's
/// photo id answers 404). The picture routes also take a signed link (`expires` and `signature` from a photo's `url`
/// or `thumbnails`) so `<img>` tags load without credentials.
struct GalleryRoutes {
    let holder: GalleryApp.Holder

    static let prefix = "/v1/apps/gallery"
    static let signedIn = Access.authenticated(keyScope: nil)
    static let maxJSONBody = 16 * 1024

    var routes: [GatewayRoute] {
        [
            GatewayRoute(.post, "\(Self.prefix)/photos",
                         summary: "Upload photos: one image as the body (image/jpeg, image/png, image/webp; ?filename=), or multipart/form-data with `file` parts. Checked before anything is stored; tagging and thumbnails follow (status processing → ready)",
                         tag: "gallery", access: Self.signedIn, request: .binary, status: 201, response: .json("GalleryUpload"),
                         query: [("filename", "The photo's file name (single-image bodies)."),
                                 ("duplicates", "`keep` (default): an exact re-upload is stored with duplicate_of; `refuse`: 409 naming the first copy.")],
                         statuses: [409, 413, 415, 422, 503]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let policy = try Self.duplicatePolicy(request)
                let contentType = request.headers[.contentType] ?? ""
                let body = try await request.collectData(limit: service.configuration.maxUploadBytes)
                if let boundary = MultipartForm.boundary(contentType: contentType) {
                    let form = try MultipartForm(data: body, boundary: boundary)
                    let files = form.parts(named: "file").map { GalleryService.Upload(data: $0.data, filename: $0.filename, declaredType: $0.contentType) }
                    guard !files.isEmpty else {
                        throw AerieError.invalid("The form has no `file` part; send each photo as a part named file (curl -F file=@photo.jpg).", field: "file")
                    }
                    let records = try await service.upload(owner: identity.username, files: files, duplicates: policy)
                    return try Response.json(JSONValue.object(["items": .array(records.map { service.body($0) })]), status: .created)
                }
                let record = try await service.upload(owner: identity.username, files: [
                    GalleryService.Upload(data: body, filename: request.query("filename"), declaredType: contentType),
                ], duplicates: policy)[0]
                return try Response.json(service.body(record), status: .created, headers: [.location: "\(Self.prefix)/photos/\(record.id)"])
            },
            GatewayRoute(.get, "\(Self.prefix)/photos",
                         summary: "Your photos, newest first; with q, ranked by meaning (each item gets a score), best first",
                         tag: "gallery", access: Self.signedIn, response: .json("GalleryPhotoList"),
                         query: [("tag", "Only photos with this tag (a label, any case)."), ("q", "Search by meaning: words matched against tags and captions."),
                                 ("since", "Only photos uploaded at or after this time (RFC 3339, or seconds since 1970)."),
                                 ("until", "Only photos uploaded at or before this time."), ("limit", "1–100, default 50."),
                                 ("cursor", "From the previous page's next_cursor (it carries the query's position).")],
                         statuses: [503]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let filter = GalleryService.ListFilter(tag: Self.nonEmpty(request.query("tag")), since: try Self.time(request, "since"),
                                                       until: try Self.time(request, "until"), query: Self.nonEmpty(request.query("q")))
                let page = try await service.list(owner: identity.username, filter: filter,
                                                  limit: try request.queryInt("limit", default: 50, range: 1...100), cursor: Self.nonEmpty(request.query("cursor")))
                let items: [JSONValue] = page.items.map { found in
                    var body = service.body(found.record)
                    if let score = found.score, case .object(var object) = body {
                        object["score"] = .number((Double(score) * 10_000).rounded() / 10_000)
                        body = .object(object)
                    }
                    return body
                }
                return try Response.json(JSONValue.object(["items": .array(items), "next_cursor": page.next.map(JSONValue.string) ?? .null]))
            },
            GatewayRoute(.get, "\(Self.prefix)/photos/{id}", summary: "One of your photos", tag: "gallery", access: Self.signedIn,
                         response: .json("GalleryPhoto"), statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                return try Response.json(service.body(try await service.requirePhoto(owner: identity.username, id: try context.pathParameter("id"))))
            },
            GatewayRoute(.patch, "\(Self.prefix)/photos/{id}", summary: "Set or clear (null or \"\") a photo's caption; search follows it",
                         tag: "gallery", access: Self.signedIn, request: .json("GalleryPhotoPatch"), response: .json("GalleryPhoto"),
                         statuses: [503]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let body = try await request.decodeJSON(JSONValue.self, limit: Self.maxJSONBody)
                guard case .object(let fields) = body else {
                    throw AerieError.invalid("The body must be a JSON object such as {\"caption\": \"At the lake\"}.", field: "/")
                }
                if let unknown = fields.keys.first(where: { $0 != "caption" }) {
                    throw AerieError.invalid("Unknown field \"\(unknown)\"; only caption can be changed.", field: "/\(unknown)")
                }
                let id = try context.pathParameter("id")
                let caption: String?
                switch fields["caption"] {
                case .string(let text)?:
                    guard text.count <= 2000 else { throw AerieError.invalid("caption is at most 2,000 characters.", field: "/caption") }
                    caption = text
                case .null?: caption = nil
                case nil: return try Response.json(service.body(try await service.requirePhoto(owner: identity.username, id: id)))
                default: throw AerieError.invalid("caption must be a string or null.", field: "/caption")
                }
                let record = try await service.setCaption(owner: identity.username, id: id, caption: caption)
                return try Response.json(service.body(record))
            },
            GatewayRoute(.delete, "\(Self.prefix)/photos/{id}", summary: "Delete a photo: its image, thumbnails, tags, search vector and share links go",
                         tag: "gallery", access: Self.signedIn, status: 204, statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let id = try context.pathParameter("id")
                guard try await holder.service().delete(owner: identity.username, id: id) else {
                    throw AerieError.notFound("You have no photo \(id); GET \(Self.prefix)/photos lists yours.")
                }
                return Response.empty(.noContent)
            },
            GatewayRoute(.get, "\(Self.prefix)/photos/{id}/image",
                         summary: "The photo without its location metadata: with your credentials, or the signed `url` (15 minutes) without",
                         tag: "gallery", access: .anyone, response: .binary,
                         query: [("expires", "From the photo's url."), ("signature", "From the photo's url.")], statuses: [401, 403, 503]) { [holder] request, context in
                let service = try holder.service()
                let record = try await Self.linkedPhoto(request, context, service: service, subject: "image")
                return try await Self.sharedImage(record, service: service)
            },
            GatewayRoute(.get, "\(Self.prefix)/photos/{id}/original", summary: "Download your original as uploaded, with all its metadata (location included)",
                         tag: "gallery", access: Self.signedIn, response: .binary, statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let record = try await service.requirePhoto(owner: identity.username, id: try context.pathParameter("id"))
                let stream = try await service.primitives.objects.read(bucket: GalleryKeys.bucket, key: record.originalKey, range: nil)
                return Response(status: .ok, headers: [
                    .contentType: record.format.contentType, .contentLength: String(stream.body.length), .cacheControl: "private, no-store",
                    .contentDisposition: "attachment; filename=\"\(record.filename.replacingOccurrences(of: "\"", with: ""))\"",
                ], body: ResponseBody(object: stream.body, on: context.eventLoop))
            },
            GatewayRoute(.get, "\(Self.prefix)/photos/{id}/thumbnails/{size}",
                         summary: "A thumbnail (small: 256 px, medium: 1024 px on the long side, JPEG, no metadata): with credentials or the signed URL",
                         tag: "gallery", access: .anyone, response: .binary,
                         query: [("expires", "From the photo's thumbnails."), ("signature", "From the photo's thumbnails.")], statuses: [401, 403, 503]) { [holder] request, context in
                let service = try holder.service()
                guard let size = ThumbnailSize(rawValue: try context.pathParameter("size")) else {
                    throw AerieError.notFound("There are two thumbnail sizes: small and medium.")
                }
                let record = try await Self.linkedPhoto(request, context, service: service, subject: size.rawValue)
                guard record.status == .ready else {
                    throw AerieError.notFound("Photo \(record.id) is \(record.status.rawValue); its thumbnails exist once it is ready.")
                }
                let stream = try await service.primitives.objects.read(bucket: GalleryKeys.bucket, key: GalleryKeys.thumbnailKey(record.id, size), range: nil)
                return Response(status: .ok, headers: [.contentType: "image/jpeg", .contentLength: String(stream.body.length), .cacheControl: "private, max-age=600"],
                                body: ResponseBody(object: stream.body, on: context.eventLoop))
            },
            GatewayRoute(.post, "\(Self.prefix)/photos/{id}/share",
                         summary: "A share link to the photo (without its location) that works without credentials until it expires or is revoked",
                         tag: "gallery", access: Self.signedIn, request: .json("GalleryShareRequest"), status: 201, response: .json("GalleryShare"),
                         statuses: [503]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let body = try await request.decodeJSON(JSONValue.self, limit: Self.maxJSONBody)
                guard case .object(let fields) = body else {
                    throw AerieError.invalid("The body must be a JSON object such as {\"expires_in\": 3600}.", field: "/")
                }
                let seconds: Double
                switch fields["expires_in"] {
                case .number(let value)?: seconds = value
                case nil: seconds = 7 * 24 * 3600
                default: throw AerieError.invalid("expires_in must be a number of seconds.", field: "/expires_in")
                }
                let share = try await service.share(owner: identity.username, id: try context.pathParameter("id"), seconds: seconds)
                return try Response.json(Self.shareBody(share), status: .created)
            },
            GatewayRoute(.get, "\(Self.prefix)/photos/{id}/shares", summary: "The photo's live share links", tag: "gallery", access: Self.signedIn,
                         response: .json("GalleryShareList"), statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let shares = try await holder.service().shares(owner: identity.username, id: try context.pathParameter("id"))
                return try Response.json(JSONValue.object(["items": .array(shares.map(Self.shareBody))]))
            },
            GatewayRoute(.delete, "\(Self.prefix)/photos/{id}/shares/{token}", summary: "Revoke a share link: it stops working at once",
                         tag: "gallery", access: Self.signedIn, status: 204, statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let id = try context.pathParameter("id")
                guard try await holder.service().revokeShare(owner: identity.username, id: id, token: try context.pathParameter("token")) else {
                    throw AerieError.notFound("Photo \(id) has no such share link; GET \(Self.prefix)/photos/\(id)/shares lists them.")
                }
                return Response.empty(.noContent)
            },
            GatewayRoute(.get, "\(Self.prefix)/shared/{token}", summary: "A shared photo (without its location), while its link is live",
                         tag: "gallery", access: .anyone, response: .binary, statuses: [503]) { [holder] _, context in
                let service = try holder.service()
                guard let record = try await service.sharedPhoto(token: try context.pathParameter("token")) else {
                    throw AerieError.notFound("This share link is unknown, expired or revoked; ask the photo's owner for a new one.")
                }
                return try await Self.sharedImage(record, service: service)
            },
            GatewayRoute(.get, "\(Self.prefix)/duplicates",
                         summary: "Groups of your photos that are the same picture: exact copies and near-duplicates (re-encoded or resized), oldest first",
                         tag: "gallery", access: Self.signedIn, response: .json("GalleryDuplicates"), statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let groups = try await holder.service().duplicateGroups(owner: identity.username)
                return try Response.json(JSONValue.object(["groups": .array(groups.map { .array($0.map(JSONValue.string)) })]))
            },
            GatewayRoute(.get, "\(Self.prefix)/usage", summary: "Your stored bytes and your quota", tag: "gallery", access: Self.signedIn,
                         response: .json("GalleryUsage"), statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let usage = try await holder.service().usage(owner: identity.username)
                return try Response.json(JSONValue.object(["used_bytes": .number(Double(usage.used)), "quota_bytes": .number(Double(usage.quota))]))
            },
        ]
    }

    /// The photo a picture route names: through a valid signed link for `subject`, or owned by the signed-in caller.
    static func linkedPhoto(_ request: Request, _ context: AerieRequestContext, service: GalleryService, subject: String) async throws -> PhotoRecord {
        let id = try context.pathParameter("id")
        if request.query("signature") != nil || request.query("expires") != nil {
            guard let expires = request.query("expires").flatMap(Int64.init), let signature = request.query("signature"),
                service.signer.verify("\(subject):\(id)", expires: expires, signature: signature, now: service.now())
            else {
                throw AerieError(.forbidden, "This link is invalid or has expired; GET \(prefix)/photos/\(id) gives fresh ones.")
            }
            guard let record = try await service.photo(id: id) else { throw AerieError.notFound("There is no photo \(id).") }
            return record
        }
        try signedIn.check(context.identity)
        return try await service.requirePhoto(owner: try context.requireIdentity().username, id: id)
    }

    /// The original without location metadata (an owner's own download is `/original`).
    static func sharedImage(_ record: PhotoRecord, service: GalleryService) async throws -> Response {
        let original = try await service.primitives.objects.get(bucket: GalleryKeys.bucket, key: record.originalKey, range: nil)
        guard let data = ImageLocation.stripped(original.body) else {
            throw AerieError(.internal, "Photo \(record.id)'s metadata could not be separated from its image, so it is not served without credentials.")
        }
        return Response(status: .ok, headers: [.contentType: record.format.contentType, .contentLength: String(data.count), .cacheControl: "private, max-age=600"],
                        body: ResponseBody(byteBuffer: ByteBuffer(data: data)))
    }

    static func shareBody(_ share: GalleryService.Share) -> JSONValue {
        .object(["token": .string(share.token), "url": .string(share.url), "photo": .string(share.photo),
                 "expires_at": .string(Self.timestamp(share.expiresAt)), "created_at": .string(Self.timestamp(share.createdAt))])
    }

    static func duplicatePolicy(_ request: Request) throws -> GalleryService.DuplicatePolicy {
        guard let text = request.query("duplicates"), !text.isEmpty else { return .keep }
        guard let policy = GalleryService.DuplicatePolicy(rawValue: text) else {
            throw AerieError.invalid("duplicates must be keep or refuse, not \"\(text)\".", field: "duplicates")
        }
        return policy
    }

    static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return text
    }

    /// A time parameter: RFC 3339 (`2026-12-06T10:00:00Z`, fractional seconds allowed), a date (`2026-12-06`, UTC) or seconds since 1970.
    static func time(_ request: Request, _ name: String) throws -> Date? {
        guard let text = nonEmpty(request.query(name)) else { return nil }
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return Date(timeIntervalSince1970: seconds) }
        let formats: [Date.ISO8601FormatStyle] = [
            .iso8601, Date.ISO8601FormatStyle(includingFractionalSeconds: true), Date.ISO8601FormatStyle().year().month().day(),
        ]
        for format in formats {
            if let date = try? format.parse(text) { return date }
        }
        throw AerieError.invalid("\(name) must be a time in RFC 3339 (2026-12-06T10:00:00Z), a date (2026-12-06) or seconds since 1970, not \"\(text)\".", field: name)
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

extension GalleryService {
    /// The API body of a photo, with fresh signed links (for 15 minutes) to the image and, once ready, its thumbnails.
    func body(_ record: PhotoRecord) -> JSONValue {
        let expires = Int64(now().timeIntervalSince1970 + configuration.linkLifetime)
        let base = "\(GalleryRoutes.prefix)/photos/\(record.id)"
        func link(_ path: String, _ subject: String) -> JSONValue {
            .string("\(path)?\(signer.query("\(subject):\(record.id)", expires: expires))")
        }
        let thumbnails: JSONValue = record.status == .ready
            ? .object(["small": link("\(base)/thumbnails/small", "small"), "medium": link("\(base)/thumbnails/medium", "medium")])
            : .object(["small": .null, "medium": .null])
        var body: [String: JSONValue] = [
            "id": .string(record.id), "filename": .string(record.filename), "content_type": .string(record.format.contentType),
            "width": .number(Double(record.width)), "height": .number(Double(record.height)), "bytes": .number(Double(record.bytes)),
            "sha256": .string(record.sha256), "status": .string(record.status.rawValue),
            "tags": .array(record.tags.map { .object(["label": .string($0.label), "score": .number(($0.score * 10_000).rounded() / 10_000)]) }),
            "caption": record.caption.map(JSONValue.string) ?? .null, "duplicate_of": record.duplicateOf.map(JSONValue.string) ?? .null,
            "created_at": .string(GalleryRoutes.timestamp(record.createdAt)), "url": link("\(base)/image", "image"),
            "thumbnails": thumbnails, "perceptual_hash": .string(record.perceptualHash.hex),
        ]
        if let error = record.error { body["error"] = .string(error) }
        return .object(body)
    }
}

extension HTTPField.Name {
    static let contentDisposition = HTTPField.Name("Content-Disposition")!
}
