import AerieAuth
import AerieCore
import AerieFaces
import AerieMail
import Foundation

/// What `faces-notify` receives for one watch and one recognized photo (the watch's address and secret are read when
/// it runs, so a deleted watch sends nothing and no secret sits in the queue).
struct FaceNotification: Codable, Sendable, Hashable {
    var owner: String
    var watch: String
    var personId: String
    var personName: String
    var photo: String
    var distance: Double
    var box: FaceBox
    var recognizedAt: Date

    enum CodingKeys: String, CodingKey {
        case owner, watch, photo, distance, box
        case personId = "person_id"
        case personName = "person_name"
        case recognizedAt = "recognized_at"
    }
}

extension FacesService {
    /// Creates a watch on one of the caller's people: exactly one of an email address (only when the server has a mail
    /// server) or an http(s) webhook URL. A webhook's signing secret is in the returned record (shown once).
    func createWatch(owner: String, personId: String, email: String?, webhookURL: String?) async throws -> WatchRecord {
        _ = try await requirePerson(owner: owner, id: personId)
        switch (email, webhookURL) {
        case (let email?, nil):
            guard MailAddress.isValid(email) else {
                throw AerieError(.unprocessable, "email must be an address such as ada@example.com, not \"\(email)\".", field: "/email")
            }
            guard configuration.smtp != nil else {
                throw AerieError(.unprocessable, "This server sends no email (start it with --smtp-url and --smtp-from); use a webhook_url instead.", field: "/email")
            }
        case (nil, let url?):
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  components.host?.isEmpty == false, url.utf8.count <= 2048 else {
                throw AerieError(.unprocessable, "webhook_url must be an http:// or https:// URL, not \"\(url.prefix(200))\".", field: "/webhook_url")
            }
        default:
            throw AerieError.invalid("Give exactly one of email and webhook_url.", field: "/email")
        }
        let time = now()
        let watch = WatchRecord(owner: owner, id: TimeOrderedID.make(time), person: personId, email: email, webhookURL: webhookURL,
                                secret: webhookURL == nil ? nil : "whsec_" + Secrets.randomToken(bytes: 24), createdAt: time,
                                ownerPerson: FacesKeys.ownerPerson(owner, personId))
        _ = try await primitives.tables.put(table: FacesKeys.watches.name, item: try watch.item(), owner: owner, condition: .absent)
        return watch
    }

    func watches(owner: String, limit: Int = 100, cursor: String? = nil) async throws -> Page<WatchRecord> {
        let page = try await primitives.tables.query(table: FacesKeys.watches.name, TableQuery(partition: .string(owner), limit: limit, cursor: cursor))
        return Page(items: page.items.compactMap { WatchRecord(item: $0.item) }, nextCursor: page.nextCursor)
    }

    func watches(owner: String, person: String) async throws -> [WatchRecord] {
        try await rows(WatchRecord.self, table: FacesKeys.watches.name, TableQuery(index: "by_person", partition: .string(FacesKeys.ownerPerson(owner, person))))
    }

    func watch(owner: String, id: String) async throws -> WatchRecord? {
        try await primitives.tables.get(table: FacesKeys.watches.name, key: Self.personKey(owner: owner, id: id)).flatMap { WatchRecord(item: $0.item) }
    }

    func deleteWatch(owner: String, id: String) async throws -> Bool {
        try await primitives.tables.delete(table: FacesKeys.watches.name, key: Self.personKey(owner: owner, id: id))
    }

    /// Queues one notification per watch of `person` for this photo; the queue's deduplication id (watch and photo)
    /// makes it once per person per photo even if recognize is retried.
    func notifyWatchers(owner: String, person: PersonRecord, photo: String, match: Match, time: Date) async throws {
        for watch in try await watches(owner: owner, person: person.id) {
            let notification = FaceNotification(owner: owner, watch: watch.id, personId: person.id, personName: person.name, photo: photo,
                                                distance: Double(match.distance ?? 0), box: match.face.box, recognizedAt: time)
            _ = try await primitives.queues.send(queue: FacesKeys.notifyQueue, body: try JSONCoding.encode(notification),
                                                 deduplicationId: "\(watch.id):\(photo)")
        }
    }
}
