import AerieCore
import AerieFaces
import AerieImaging
import Crypto
import Foundation

extension FacesService {
    /// Keeps a face recognize could not match: its row (with the embedding, expiring after the retention time) and
    /// its crop, so that clustering can group it with the same unknown person's other faces.
    func keepSighting(owner: String, photo: String, face: FoundFace, image: RGBImage, time: Date) async throws {
        let sighting = SightingRecord(owner: owner, id: TimeOrderedID.make(time), photo: photo, box: face.face.box, embedding: face.embedding,
                                      createdAt: time, expiresAt: time.timeIntervalSince1970 + configuration.sightingRetention)
        _ = try await primitives.objects.put(bucket: FacesKeys.bucket, key: FacesKeys.cropKey(owner: owner, id: sighting.id),
                                             data: try await finder.crop(image, box: face.face.box),
                                             attributes: ObjectAttributes(contentType: "image/jpeg", metadata: ["owner": owner]))
        _ = try await primitives.tables.put(table: FacesKeys.sightings.name, item: try sighting.item(), owner: owner, condition: .absent)
    }

    /// The caller's unexpired sightings, newest first, at most `limit`.
    func sightings(owner: String, limit: Int = 5000) async throws -> [SightingRecord] {
        try await rows(SightingRecord.self, table: FacesKeys.sightings.name, TableQuery(partition: .string(owner), descending: true), limit: limit)
    }

    struct Cluster: Sendable {
        var id: String
        var faces: [SightingRecord]
    }

    /// The caller's unknown faces grouped by person (Chinese whispers on the graph of faces closer than the
    /// threshold), largest group first. A group's id is a digest of its members, so it stays the same between calls
    /// until a face joins or leaves it (or it is named).
    func clusters(owner: String) async throws -> [Cluster] {
        let sightings = try await self.sightings(owner: owner).sorted { $0.id < $1.id }
        let labels = ChineseWhispers.cluster(sightings.map(\.embedding), threshold: configuration.threshold)
        var groups: [Int: [SightingRecord]] = [:]
        for (sighting, label) in zip(sightings, labels) { groups[label, default: []].append(sighting) }
        return groups.values
            .map { members in Cluster(id: Self.clusterID(members.map(\.id)), faces: members) }
            .sorted { ($0.faces.count, $1.faces[0].id) > ($1.faces.count, $0.faces[0].id) }
    }

    static func clusterID(_ members: [String]) -> String {
        let digest = SHA256.hash(data: Data(members.sorted().joined(separator: ",").utf8))
        return "c" + digest.prefix(10).map { String(format: "%02x", $0) }.joined()
    }

    /// Enrols every face of cluster `id` as faces of one person: a new one named `name`, or the caller's person
    /// `personId`. 404 when no current cluster has that id (it changed or was named meanwhile).
    func nameCluster(owner: String, id: String, name: String?, personId: String?) async throws -> (PersonRecord, [FaceRecord]) {
        guard let cluster = try await clusters(owner: owner).first(where: { $0.id == id }) else {
            throw AerieError.notFound("You have no cluster \(id) (clusters change as photos are recognized); GET \(FacesRoutes.prefix)/clusters lists them now.")
        }
        let person: PersonRecord
        if let personId {
            person = try await requirePerson(owner: owner, id: personId)
        } else if let name {
            person = try await createPerson(owner: owner, name: name)
        } else {
            throw AerieError.invalid("Give the person a name ({\"name\": \"Ada\"}) or add the faces to one of yours ({\"person_id\": …}).", field: "/name")
        }
        var faces: [FaceRecord] = []
        for sighting in cluster.faces {
            let face = FaceRecord(owner: owner, id: sighting.id, person: person.id, box: sighting.box, embedding: sighting.embedding,
                                  createdAt: sighting.createdAt, source: "cluster")
            // The crop is already stored under the same id; the row and vector make it an enrolled face.
            _ = try await primitives.tables.put(table: FacesKeys.faces.name, item: try face.item(), owner: owner, condition: .none)
            try await vectors.upsert(id: face.id, vector: face.embedding, metadata: ["owner": .string(owner), "person": .string(person.id)])
            _ = try await primitives.tables.delete(table: FacesKeys.sightings.name, key: Self.personKey(owner: owner, id: sighting.id))
            faces.append(face)
        }
        let updated = try await updatePerson(owner: owner, id: person.id) { $0.faces += faces.count }
        return (updated, faces)
    }

    /// Removes the crops of sightings whose rows expired (the table's TTL removes the rows themselves).
    func sweepExpiredCrops() async throws -> Int {
        var removed = 0
        var cursor: String?
        let cutoff = now().addingTimeInterval(-configuration.sightingRetention)
        repeat {
            let listing = try await primitives.objects.list(bucket: FacesKeys.bucket, ListObjectsRequest(prefix: "crops/", cursor: cursor, limit: 1000))
            for object in listing.objects where object.lastModified < cutoff {
                let parts = object.key.dropFirst("crops/".count).split(separator: "/")
                guard parts.count >= 2, let id = parts.last.map({ String($0.dropLast(".jpg".count)) }) else { continue }
                let owner = parts.dropLast().joined(separator: "/")
                let key = Self.personKey(owner: owner, id: id)
                if try await primitives.tables.get(table: FacesKeys.faces.name, key: key) == nil,
                   try await primitives.tables.get(table: FacesKeys.sightings.name, key: key) == nil {
                    if try await primitives.objects.delete(bucket: FacesKeys.bucket, key: object.key) { removed += 1 }
                }
            }
            cursor = listing.nextCursor
        } while cursor != nil
        return removed
    }
}

/// Chinese whispers (Biemann 2006, as dlib's `chinese_whispers`): every face starts as its own group; in rounds,
/// each face takes the group most of its neighbours (faces closer than the threshold) belong to. Deterministic: the
/// visiting order comes from a fixed-seed generator, so the same faces always give the same groups.
enum ChineseWhispers {
    static func cluster(_ embeddings: [[Float]], threshold: Float, rounds: Int = 100) -> [Int] {
        let count = embeddings.count
        var neighbours = [[Int]](repeating: [], count: count)
        for i in 0..<count {
            for j in (i + 1)..<max(i + 1, count) where FaceEngine.distance(embeddings[i], embeddings[j]) < threshold {
                neighbours[i].append(j)
                neighbours[j].append(i)
            }
        }
        var labels = Array(0..<count)
        var random = SplitMix64(state: 0x5EED_FACE)
        var order = Array(0..<count)
        for _ in 0..<rounds {
            var changed = false
            for index in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(index, Int(random.next() % UInt64(index + 1)))
            }
            for node in order where !neighbours[node].isEmpty {
                var votes: [Int: Int] = [:]
                for other in neighbours[node] { votes[labels[other], default: 0] += 1 }
                let best = votes.max { ($0.value, -$0.key) < ($1.value, -$1.key) }!.key
                if best != labels[node] {
                    labels[node] = best
                    changed = true
                }
            }
            if !changed { break }
        }
        return labels
    }
}
