import AerieCore
import AerieFaces
import AerieImaging
import Foundation

/// Faces' logic on the primitives: people and their enrolled faces, recognition (1:N against the caller's people
/// only), verification, detection. Every method takes the caller's user name and touches only that user's rows,
/// vectors and objects; another user's id is "not found", never "forbidden".
final class FacesService: Sendable {
    let primitives: Primitives
    let configuration: FacesConfiguration
    let finder: FaceFinder
    let vectors: any Vectors
    let now: @Sendable () -> Date

    private init(primitives: Primitives, configuration: FacesConfiguration, finder: FaceFinder, vectors: any Vectors,
                 now: @escaping @Sendable () -> Date) {
        self.primitives = primitives
        self.configuration = configuration
        self.finder = finder
        self.vectors = vectors
        self.now = now
    }

    /// The service with its bucket, tables, queue and vector collection created (idempotently).
    static func open(primitives: Primitives, configuration: FacesConfiguration, engine: FaceEngine,
                     now: @escaping @Sendable () -> Date = { Date() }) async throws -> FacesService {
        try await primitives.ensureAppBucket(FacesKeys.bucket, app: FacesApp.name)
        for table in [FacesKeys.people, FacesKeys.faces, FacesKeys.sightings, FacesKeys.watches] {
            try await primitives.ensureAppTable(table, app: FacesApp.name)
        }
        // A mail server or webhook that is down is retried for about an hour (1 s doubling to 10 min), then the
        // message waits in the dead-letter queue: nothing is lost.
        try await primitives.ensureAppQueue(QueueConfiguration(name: FacesKeys.notifyQueue, visibilityTimeout: .seconds(60), maxAttempts: 12,
                                                               backoffBase: .seconds(1), maxBackoff: .seconds(600),
                                                               deduplicationWindow: .seconds(24 * 3600)), app: FacesApp.name)
        let vectors = try await primitives.ensureAppCollection(FacesKeys.vectorCollection, dimensions: FaceEngine.embeddingSize,
                                                               metric: .euclidean, app: FacesApp.name)
        return FacesService(primitives: primitives, configuration: configuration, finder: FaceFinder(engine: engine, configuration: configuration),
                            vectors: vectors, now: now)
    }

    // MARK: - People

    static func personKey(owner: String, id: String) -> ItemKey { ItemKey(partition: .string(owner), sort: .string(id)) }

    static func cleanName(_ name: String) throws -> String {
        let clean = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !clean.isEmpty, clean.count <= 200, !clean.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw AerieError.invalid("name must be 1–200 characters without control characters.", field: "/name")
        }
        return clean
    }

    func createPerson(owner: String, name: String) async throws -> PersonRecord {
        let time = now()
        let person = PersonRecord(owner: owner, id: TimeOrderedID.make(time), name: try Self.cleanName(name), faces: 0, createdAt: time)
        _ = try await primitives.tables.put(table: FacesKeys.people.name, item: try person.item(), owner: owner, condition: .absent)
        return person
    }

    func person(owner: String, id: String) async throws -> PersonRecord? {
        try await primitives.tables.get(table: FacesKeys.people.name, key: Self.personKey(owner: owner, id: id)).flatMap { PersonRecord(item: $0.item) }
    }

    func requirePerson(owner: String, id: String) async throws -> PersonRecord {
        guard let person = try await person(owner: owner, id: id) else {
            throw AerieError.notFound("You have no person \(id); GET \(FacesRoutes.prefix)/people lists yours.")
        }
        return person
    }

    func people(owner: String, limit: Int, cursor: String?) async throws -> Page<PersonRecord> {
        let page = try await primitives.tables.query(table: FacesKeys.people.name,
                                                     TableQuery(partition: .string(owner), limit: limit, cursor: cursor))
        return Page(items: page.items.compactMap { PersonRecord(item: $0.item) }, nextCursor: page.nextCursor)
    }

    /// Changes a person with a conditional write, read again when another request changed it first.
    func updatePerson(owner: String, id: String, _ change: (inout PersonRecord) throws -> Void) async throws -> PersonRecord {
        for _ in 0..<20 {
            guard let stored = try await primitives.tables.get(table: FacesKeys.people.name, key: Self.personKey(owner: owner, id: id)),
                  var person = PersonRecord(item: stored.item) else {
                throw AerieError.notFound("You have no person \(id); GET \(FacesRoutes.prefix)/people lists yours.")
            }
            try change(&person)
            do {
                _ = try await primitives.tables.put(table: FacesKeys.people.name, item: try person.item(), owner: owner, condition: .version(stored.version))
                return person
            } catch let error as AerieError where error.code == .conditionFailed {
                continue
            }
        }
        throw AerieError(.unavailable, "Person \(id) is changing too often to update; try again.")
    }

    /// Deletes the person with every enrolled face (rows, vectors, crops) and their watches; false when the caller has
    /// no such person.
    func deletePerson(owner: String, id: String) async throws -> Bool {
        guard try await person(owner: owner, id: id) != nil else { return false }
        let faces = try await enrolledFaces(owner: owner, person: id)
        try await removeFaces(faces)
        for watch in try await watches(owner: owner, person: id) {
            _ = try await primitives.tables.delete(table: FacesKeys.watches.name, key: Self.personKey(owner: owner, id: watch.id))
        }
        return try await primitives.tables.delete(table: FacesKeys.people.name, key: Self.personKey(owner: owner, id: id))
    }

    // MARK: - Enrolled faces

    /// Every row a query finds, page after page (up to `limit`).
    func rows<Row: FacesRow>(_ type: Row.Type, table: String, _ query: TableQuery, limit: Int = .max) async throws -> [Row] {
        var rows: [Row] = []
        var query = query
        repeat {
            query.limit = min(500, limit - rows.count)
            let page = try await primitives.tables.query(table: table, query)
            rows += page.items.compactMap { Row(item: $0.item) }
            query.cursor = page.nextCursor
        } while query.cursor != nil && rows.count < limit
        return rows
    }

    /// Every face enrolled for the person, oldest first.
    func enrolledFaces(owner: String, person: String) async throws -> [FaceRecord] {
        try await rows(FaceRecord.self, table: FacesKeys.faces.name, TableQuery(index: "by_person", partition: .string(FacesKeys.ownerPerson(owner, person))))
    }

    /// Enrols the one face of `photo` for the person: 422 when the photo has no face, or several without
    /// `pickLargest`.
    func enrol(owner: String, person id: String, photo: FacePhoto, pickLargest: Bool) async throws -> (PersonRecord, FaceRecord) {
        _ = try await requirePerson(owner: owner, id: id)
        let image = try await finder.decode(photo)
        let found = try await finder.faces(in: image, embed: true)
        guard !found.isEmpty else {
            throw AerieError(.unprocessable, "No face was found in the photo; enrol a photo where the face is at least about 40 pixels wide and seen from the front.")
        }
        guard found.count == 1 || pickLargest else {
            throw AerieError(.unprocessable, "The photo has \(found.count) faces; send a photo of this person alone, or add ?pick=largest to enrol the largest face.")
        }
        let chosen = found.max(by: { $0.face.box.area < $1.face.box.area })!
        let time = now()
        let face = FaceRecord(owner: owner, id: TimeOrderedID.make(time), person: id, box: chosen.face.box, embedding: chosen.embedding,
                              createdAt: time, source: "upload")
        try await store(face, crop: try await finder.crop(image, box: chosen.face.box))
        let person = try await updatePerson(owner: owner, id: id) { $0.faces += 1 }
        return (person, face)
    }

    /// Writes an enrolled face: its crop, its row, then its vector (search finds it only once the row exists).
    func store(_ face: FaceRecord, crop: Data) async throws {
        _ = try await primitives.objects.put(bucket: FacesKeys.bucket, key: FacesKeys.cropKey(owner: face.owner, id: face.id), data: crop,
                                             attributes: ObjectAttributes(contentType: "image/jpeg", metadata: ["owner": face.owner]))
        _ = try await primitives.tables.put(table: FacesKeys.faces.name, item: try face.item(), owner: face.owner, condition: .absent)
        try await vectors.upsert(id: face.id, vector: face.embedding,
                                 metadata: ["owner": .string(face.owner), "person": .string(face.person)])
    }

    func removeFaces(_ faces: [FaceRecord]) async throws {
        guard !faces.isEmpty else { return }
        _ = try await vectors.remove(ids: faces.map(\.id))
        for face in faces {
            _ = try await primitives.tables.delete(table: FacesKeys.faces.name, key: Self.personKey(owner: face.owner, id: face.id))
            _ = try await primitives.objects.delete(bucket: FacesKeys.bucket, key: FacesKeys.cropKey(owner: face.owner, id: face.id))
        }
    }

    /// Deletes one enrolled face of the person; false when the caller has no such face for that person.
    func deleteFace(owner: String, person: String, face id: String) async throws -> Bool {
        guard let stored = try await primitives.tables.get(table: FacesKeys.faces.name, key: Self.personKey(owner: owner, id: id)),
              let face = FaceRecord(item: stored.item), face.person == person else { return false }
        try await removeFaces([face])
        _ = try await updatePerson(owner: owner, id: person) { $0.faces = max(0, $0.faces - 1) }
        return true
    }

    // MARK: - Recognize, verify, detect

    struct Match: Sendable {
        var face: DetectedFace
        var person: PersonRecord?
        /// The distance to the closest enrolled face of the caller's, or nil when they have none.
        var distance: Float?
    }

    struct Recognition: Sendable {
        /// The id given to the photo (its unknown faces are kept for clustering under it).
        var photo: String
        var faces: [Match]
    }

    /// Every face of the photo matched 1:N against the caller's enrolled faces. Faces without a match are kept
    /// (crop and embedding) for clustering; watched people that were recognized are queued for notification.
    func recognize(owner: String, photo: FacePhoto) async throws -> Recognition {
        let image = try await finder.decode(photo)
        let found = try await finder.faces(in: image, embed: true)
        let time = now()
        let photoId = TimeOrderedID.make(time)
        var matches: [Match] = []
        var people: [String: PersonRecord?] = [:]
        for face in found {
            let best = try await vectors.search(face.embedding, k: 1, filter: .equals("owner", .string(owner)), exact: true).first
            let distance = best.map { -$0.score }
            var person: PersonRecord?
            if let best, let distance, distance < configuration.threshold, case .string(let personId)? = best.metadata["person"] {
                if people[personId] == nil { people[personId] = try await self.person(owner: owner, id: personId) }
                person = people[personId] ?? nil
            }
            matches.append(Match(face: face.face, person: person, distance: distance))
        }
        for (face, match) in zip(found, matches) where match.person == nil {
            try await keepSighting(owner: owner, photo: photoId, face: face, image: image, time: time)
        }
        var notified: Set<String> = []
        for match in matches {
            guard let person = match.person, notified.insert(person.id).inserted else { continue }
            try await notifyWatchers(owner: owner, person: person, photo: photoId, match: match, time: time)
        }
        return Recognition(photo: photoId, faces: matches)
    }

    /// Whether the largest faces of two photos are the same person.
    func verify(_ a: FacePhoto, _ b: FacePhoto) async throws -> (same: Bool, distance: Float) {
        var embeddings: [[Float]] = []
        for photo in [a, b] {
            let image = try await finder.decode(photo)
            let found = try await finder.faces(in: image, embed: true)
            guard let largest = found.max(by: { $0.face.box.area < $1.face.box.area }) else {
                throw AerieError(.unprocessable, "No face was found in part \(photo.part ?? "?"); each part needs a face seen from the front.")
            }
            embeddings.append(largest.embedding)
        }
        let distance = FaceEngine.distance(embeddings[0], embeddings[1])
        return (distance < configuration.threshold, distance)
    }

    func detect(photo: FacePhoto) async throws -> [DetectedFace] {
        try await finder.faces(in: try await finder.decode(photo), embed: false).map(\.face)
    }
}
