import AerieAuth
import AerieCore
import AerieFaces
import AerieHTTP
import AerieStreaming
import Foundation
import HTTPTypes
import Hummingbird

/// The Faces API under `/v1/apps/faces/`: any signed-in user, each with their own people, faces, clusters and
/// watches (another user's id answers 404; recognition only ever compares with the caller's own people). Photos are
/// the raw body (`image/jpeg|png|webp`) or a `multipart/form-data` part.
struct FacesRoutes {
    let holder: FacesApp.Holder

    static let prefix = "/v1/apps/faces"
    static let signedIn = Access.authenticated(keyScope: nil)
    static let maxJSONBody = 16 * 1024
    static let photoStatuses = [413, 415, 422, 503]

    var routes: [GatewayRoute] { peopleRoutes + recognitionRoutes + clusterRoutes + watchRoutes }

    // MARK: - People and their faces

    private var peopleRoutes: [GatewayRoute] {
        [
            GatewayRoute(.post, "\(Self.prefix)/people", summary: "Add a person to enrol faces for", tag: "faces", access: Self.signedIn,
                         request: .json("FacesPersonCreate"), status: 201, response: .json("FacesPerson"), statuses: [503]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let body = try await Self.object(request, allowed: ["name"])
                let person = try await service.createPerson(owner: identity.username, name: try Self.string(body, "name") ?? "")
                return try Response.json(person.body, status: .created, headers: [.location: "\(Self.prefix)/people/\(person.id)"])
            },
            GatewayRoute(.get, "\(Self.prefix)/people", summary: "Your people, oldest first", tag: "faces", access: Self.signedIn,
                         response: .json("FacesPersonList"),
                         query: [("limit", "1–500, default 100."), ("cursor", "From the previous page's next_cursor.")], statuses: [503]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let page = try await holder.service().people(owner: identity.username, limit: try request.queryInt("limit", default: 100, range: 1...500),
                                                             cursor: Self.nonEmpty(request.query("cursor")))
                return try Response.json(JSONValue.object(["items": .array(page.items.map(\.body)), "next_cursor": page.nextCursor.map(JSONValue.string) ?? .null]))
            },
            GatewayRoute(.get, "\(Self.prefix)/people/{id}", summary: "One of your people", tag: "faces", access: Self.signedIn,
                         response: .json("FacesPerson"), statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                return try Response.json(try await holder.service().requirePerson(owner: identity.username, id: try context.pathParameter("id")).body)
            },
            GatewayRoute(.delete, "\(Self.prefix)/people/{id}", summary: "Delete a person with their enrolled faces (embeddings and crops) and watches",
                         tag: "faces", access: Self.signedIn, status: 204, statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let id = try context.pathParameter("id")
                guard try await holder.service().deletePerson(owner: identity.username, id: id) else {
                    throw AerieError.notFound("You have no person \(id); GET \(Self.prefix)/people lists yours.")
                }
                return Response.empty(.noContent)
            },
            GatewayRoute(.post, "\(Self.prefix)/people/{id}/faces",
                         summary: "Enrol a face from a photo of the person (raw image body or a multipart part); 422 without a face, or with several unless ?pick=largest",
                         tag: "faces", access: Self.signedIn, request: .binary, status: 201, response: .json("FacesEnrolment"),
                         query: [("pick", "`largest`: enrol the largest face of a photo with several.")], statuses: Self.photoStatuses) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let pick = request.query("pick")
                guard pick == nil || pick == "largest" else { throw AerieError.invalid("pick is `largest` or absent.", field: "pick") }
                let photo = try await Self.photo(request, limit: service.configuration.maxUploadBytes)
                let (person, face) = try await service.enrol(owner: identity.username, person: try context.pathParameter("id"), photo: photo,
                                                             pickLargest: pick == "largest")
                return try Response.json(JSONValue.object(["person": person.body, "face": face.body]), status: .created)
            },
            GatewayRoute(.get, "\(Self.prefix)/people/{id}/faces", summary: "The faces enrolled for a person, oldest first", tag: "faces",
                         access: Self.signedIn, response: .json("FacesFaceList"), statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let person = try await service.requirePerson(owner: identity.username, id: try context.pathParameter("id"))
                let faces = try await service.enrolledFaces(owner: identity.username, person: person.id)
                return try Response.json(JSONValue.object(["items": .array(faces.map(\.body))]))
            },
            GatewayRoute(.delete, "\(Self.prefix)/people/{id}/faces/{face}", summary: "Delete one enrolled face", tag: "faces",
                         access: Self.signedIn, status: 204, statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let person = try context.pathParameter("id"), face = try context.pathParameter("face")
                guard try await holder.service().deleteFace(owner: identity.username, person: person, face: face) else {
                    throw AerieError.notFound("Person \(person) has no face \(face); GET \(Self.prefix)/people/\(person)/faces lists them.")
                }
                return Response.empty(.noContent)
            },
            GatewayRoute(.get, "\(Self.prefix)/crops/{id}", summary: "The crop of an enrolled face or of a clustered unknown face (JPEG)",
                         tag: "faces", access: Self.signedIn, response: .binary, statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let id = try context.pathParameter("id")
                let key = FacesKeys.cropKey(owner: identity.username, id: id)
                guard try await service.primitives.objects.head(bucket: FacesKeys.bucket, key: key) != nil else {
                    throw AerieError.notFound("You have no face \(id).")
                }
                let stream = try await service.primitives.objects.read(bucket: FacesKeys.bucket, key: key, range: nil)
                return Response(status: .ok, headers: [.contentType: "image/jpeg", .contentLength: String(stream.body.length),
                                                       .cacheControl: "private, max-age=3600"], body: ResponseBody(object: stream.body, on: context.eventLoop))
            },
        ]
    }

    // MARK: - Recognize, verify, detect

    private var recognitionRoutes: [GatewayRoute] {
        [
            GatewayRoute(.post, "\(Self.prefix)/recognize",
                         summary: "Every face of a photo, each matched 1:N against your people (person null above the threshold); unknown faces are kept for clustering and watches are notified",
                         tag: "faces", access: Self.signedIn, request: .binary, response: .json("FacesRecognition"), statuses: Self.photoStatuses) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let result = try await service.recognize(owner: identity.username, photo: try await Self.photo(request, limit: service.configuration.maxUploadBytes))
                let faces: [JSONValue] = result.faces.map { match in
                    .object(["box": FacesJSON.box(match.face.box), "person": match.person?.reference ?? .null,
                             "distance": match.distance.map(FacesJSON.distance) ?? .null])
                }
                return try Response.json(JSONValue.object(["threshold": FacesJSON.distance(service.configuration.threshold), "photo": .string(result.photo),
                                                           "faces": .array(faces)]))
            },
            GatewayRoute(.post, "\(Self.prefix)/verify", summary: "Whether the largest faces of two photos (multipart parts a and b) are the same person",
                         tag: "faces", access: Self.signedIn, request: .binary, response: .json("FacesVerification"), statuses: Self.photoStatuses) { [holder] request, context in
                _ = try context.requireIdentity()
                let service = try holder.service()
                let body = try await request.collectData(limit: service.configuration.maxUploadBytes)
                guard let boundary = MultipartForm.boundary(contentType: request.headers[.contentType] ?? "") else {
                    throw AerieError.invalid("Send the two photos as multipart/form-data parts a and b (curl -F a=@one.jpg -F b=@two.jpg).", field: "a")
                }
                let form = try MultipartForm(data: body, boundary: boundary)
                var photos: [FacePhoto] = []
                for name in ["a", "b"] {
                    guard let part = form.parts(named: name).first else {
                        throw AerieError.invalid("The form has no part \(name); send parts a and b.", field: name)
                    }
                    photos.append(FacePhoto(data: part.data, declaredType: part.contentType, part: name))
                }
                let (same, distance) = try await service.verify(photos[0], photos[1])
                return try Response.json(JSONValue.object(["same": .bool(same), "distance": FacesJSON.distance(distance),
                                                           "threshold": FacesJSON.distance(service.configuration.threshold)]))
            },
            GatewayRoute(.post, "\(Self.prefix)/detect", summary: "The faces of a photo with their boxes and 5 landmarks (no matching, nothing stored)",
                         tag: "faces", access: Self.signedIn, request: .binary, response: .json("FacesDetection"), statuses: Self.photoStatuses) { [holder] request, context in
                _ = try context.requireIdentity()
                let service = try holder.service()
                let faces = try await service.detect(photo: try await Self.photo(request, limit: service.configuration.maxUploadBytes))
                return try Response.json(JSONValue.object(["faces": .array(faces.map { face in
                    .object(["box": FacesJSON.box(face.box),
                             "landmarks": .array(face.landmarks.map { .array([.number(Self.round($0.x)), .number(Self.round($0.y))]) })])
                })]))
            },
        ]
    }

    // MARK: - Clusters

    private var clusterRoutes: [GatewayRoute] {
        [
            GatewayRoute(.get, "\(Self.prefix)/clusters", summary: "Your unknown faces (seen by recognize) grouped by person, largest group first",
                         tag: "faces", access: Self.signedIn, response: .json("FacesClusterList"), statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let clusters = try await holder.service().clusters(owner: identity.username)
                return try Response.json(JSONValue.object(["groups": .array(clusters.map { cluster in
                    .object(["id": .string(cluster.id), "faces": .array(cluster.faces.map { face in
                        .object(["id": .string(face.id), "photo": .string(face.photo), "box": FacesJSON.box(face.box),
                                 "seen_at": .string(RFC3339.string(from: face.createdAt)), "image": .string("\(Self.prefix)/crops/\(face.id)")])
                    })])
                })]))
            },
            GatewayRoute(.post, "\(Self.prefix)/clusters/{id}/name",
                         summary: "Enrol every face of a cluster as one person: a new one ({\"name\"}) or one of yours ({\"person_id\"})",
                         tag: "faces", access: Self.signedIn, request: .json("FacesClusterName"), status: 201, response: .json("FacesClusterNamed"),
                         statuses: [503]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let body = try await Self.object(request, allowed: ["name", "person_id"])
                let name = try Self.string(body, "name"), personId = try Self.string(body, "person_id")
                if name != nil && personId != nil { throw AerieError.invalid("Give name or person_id, not both.", field: "/person_id") }
                let (person, faces) = try await service.nameCluster(owner: identity.username, id: try context.pathParameter("id"), name: name, personId: personId)
                return try Response.json(JSONValue.object(["person": person.body, "faces": .array(faces.map(\.body))]), status: .created)
            },
        ]
    }

    // MARK: - Watches

    private var watchRoutes: [GatewayRoute] {
        [
            GatewayRoute(.post, "\(Self.prefix)/watches",
                         summary: "Be notified when a person is recognized: by email ({\"person_id\", \"email\"}) or webhook ({\"person_id\", \"webhook_url\"}, HMAC-signed; the secret is shown once)",
                         tag: "faces", access: Self.signedIn, request: .json("FacesWatchCreate"), status: 201, response: .json("FacesWatch"),
                         statuses: [422, 503]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let body = try await Self.object(request, allowed: ["person_id", "email", "webhook_url"])
                guard let personId = try Self.string(body, "person_id") else { throw AerieError.invalid("person_id is required.", field: "/person_id") }
                let watch = try await service.createWatch(owner: identity.username, personId: personId, email: try Self.string(body, "email"),
                                                          webhookURL: try Self.string(body, "webhook_url"))
                var created = watch.body
                if let secret = watch.secret, case .object(var fields) = created {
                    fields["secret"] = .string(secret)
                    created = .object(fields)
                }
                return try Response.json(created, status: .created, headers: [.location: "\(Self.prefix)/watches/\(watch.id)"])
            },
            GatewayRoute(.get, "\(Self.prefix)/watches", summary: "Your watches", tag: "faces", access: Self.signedIn,
                         response: .json("FacesWatchList"), query: [("cursor", "From the previous page's next_cursor.")], statuses: [503]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let page = try await holder.service().watches(owner: identity.username, cursor: Self.nonEmpty(request.query("cursor")))
                return try Response.json(JSONValue.object(["items": .array(page.items.map(\.body)), "next_cursor": page.nextCursor.map(JSONValue.string) ?? .null]))
            },
            GatewayRoute(.get, "\(Self.prefix)/watches/{id}", summary: "One of your watches", tag: "faces", access: Self.signedIn,
                         response: .json("FacesWatch"), statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let id = try context.pathParameter("id")
                guard let watch = try await holder.service().watch(owner: identity.username, id: id) else {
                    throw AerieError.notFound("You have no watch \(id); GET \(Self.prefix)/watches lists yours.")
                }
                return try Response.json(watch.body)
            },
            GatewayRoute(.delete, "\(Self.prefix)/watches/{id}", summary: "Stop a watch", tag: "faces", access: Self.signedIn, status: 204,
                         statuses: [503]) { [holder] _, context in
                let identity = try context.requireIdentity()
                let id = try context.pathParameter("id")
                guard try await holder.service().deleteWatch(owner: identity.username, id: id) else {
                    throw AerieError.notFound("You have no watch \(id); GET \(Self.prefix)/watches lists yours.")
                }
                return Response.empty(.noContent)
            },
        ]
    }

    // MARK: - Helpers

    /// The one photo of a request: a multipart part named `file` or `image` (or the form's only part), else the raw body.
    static func photo(_ request: Request, limit: Int) async throws -> FacePhoto {
        let contentType = request.headers[.contentType] ?? ""
        let body = try await request.collectData(limit: limit)
        if let boundary = MultipartForm.boundary(contentType: contentType) {
            let form = try MultipartForm(data: body, boundary: boundary)
            guard let part = form.parts(named: "file").first ?? form.parts(named: "image").first ?? (form.parts.count == 1 ? form.parts.first : nil) else {
                throw AerieError.invalid("The form has no photo; send it as a part named file (curl -F file=@photo.jpg).", field: "file")
            }
            return FacePhoto(data: part.data, declaredType: part.contentType, part: part.name)
        }
        guard !body.isEmpty else {
            throw AerieError.invalid("The request has no photo: send a JPEG, PNG or WebP image as the body, or a multipart part named file.", field: "body")
        }
        return FacePhoto(data: body, declaredType: contentType, part: nil)
    }

    static func object(_ request: Request, allowed: Set<String>) async throws -> [String: JSONValue] {
        let body = try await request.decodeJSON(JSONValue.self, limit: maxJSONBody)
        guard case .object(let fields) = body else {
            throw AerieError.invalid("The body must be a JSON object with \(allowed.sorted().joined(separator: ", ")).", field: "/")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw AerieError.invalid("Unknown field \"\(unknown)\"; the fields are \(allowed.sorted().joined(separator: ", ")).", field: "/\(unknown)")
        }
        return fields
    }

    static func string(_ fields: [String: JSONValue], _ name: String) throws -> String? {
        switch fields[name] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw AerieError.invalid("\(name) must be a string.", field: "/\(name)")
        }
    }

    static func nonEmpty(_ text: String?) -> String? {
        text.flatMap { $0.isEmpty ? nil : $0 }
    }

    static func round(_ value: Float) -> Double {
        (Double(value) * 10).rounded() / 10
    }
}
