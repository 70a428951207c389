import AerieCore
import Crypto
import Foundation

extension GalleryService {
    /// A share link: whoever has its URL sees the photo (without its location) until it expires or is revoked.
    struct Share: Sendable, Hashable {
        var token: String
        var photo: String
        var owner: String
        var expiresAt: Date
        var createdAt: Date

        var url: String { "/v1/apps/gallery/shared/\(token)" }

        var item: [String: JSONValue] {
            ["token": .string(token), "photo": .string(photo), "owner": .string(owner),
             "expires_at": .number(expiresAt.timeIntervalSince1970), "created_at": .number(createdAt.timeIntervalSince1970)]
        }

        init(token: String, photo: String, owner: String, expiresAt: Date, createdAt: Date) {
            self.token = token
            self.photo = photo
            self.owner = owner
            self.expiresAt = expiresAt
            self.createdAt = createdAt
        }

        init?(item: [String: JSONValue]) {
            guard let token = item["token"]?.stringValue, let photo = item["photo"]?.stringValue, let owner = item["owner"]?.stringValue,
                let expires = item["expires_at"]?.numberValue, let created = item["created_at"]?.numberValue
            else { return nil }
            self.init(token: token, photo: photo, owner: owner, expiresAt: Date(timeIntervalSince1970: expires),
                      createdAt: Date(timeIntervalSince1970: created))
        }
    }

    /// A new share link for the caller's photo, valid for `seconds`.
    func share(owner: String, id: String, seconds: TimeInterval) async throws -> Share {
        guard seconds >= 1, seconds <= configuration.maxShareLifetime else {
            throw AerieError.invalid("expires_in must be between 1 and \(Int(configuration.maxShareLifetime)) seconds.", field: "/expires_in")
        }
        _ = try await requirePhoto(owner: owner, id: id)
        let token = Base64URL.encode(SymmetricKey(size: .bits192).withUnsafeBytes { Data($0) })
        let time = now()
        let share = Share(token: token, photo: id, owner: owner, expiresAt: time.addingTimeInterval(seconds), createdAt: time)
        try await primitives.tables.put(table: GalleryKeys.shares.name, item: share.item, owner: owner, condition: .absent)
        return share
    }

    /// The live share links of a photo.
    func shares(owner: String, id: String) async throws -> [Share] {
        _ = try await requirePhoto(owner: owner, id: id)
        let page = try await primitives.tables.query(table: GalleryKeys.shares.name,
                                                     TableQuery(index: "by_photo", partition: .string(id), limit: 1000))
        return page.items.compactMap { Share(item: $0.item) }.filter { $0.owner == owner && $0.expiresAt > now() }
    }

    /// Revokes a share link of the caller's photo; false when there is no such link.
    func revokeShare(owner: String, id: String, token: String) async throws -> Bool {
        guard let stored = try await primitives.tables.get(table: GalleryKeys.shares.name, key: ItemKey(partition: .string(token))),
            let share = Share(item: stored.item), share.owner == owner, share.photo == id
        else { return false }
        return try await primitives.tables.delete(table: GalleryKeys.shares.name, key: ItemKey(partition: .string(token)))
    }

    /// The photo a live share link shows, or nil (unknown, expired or revoked).
    func sharedPhoto(token: String) async throws -> PhotoRecord? {
        guard token.count <= 64,
            let stored = try await primitives.tables.get(table: GalleryKeys.shares.name, key: ItemKey(partition: .string(token))),
            let share = Share(item: stored.item), share.expiresAt > now()
        else { return nil }
        return try await photo(owner: share.owner, id: share.photo)
    }

    func shareTokens(photo id: String) async throws -> [String] {
        let page = try await primitives.tables.query(table: GalleryKeys.shares.name,
                                                     TableQuery(index: "by_photo", partition: .string(id), limit: 1000))
        return page.items.compactMap { $0.item["token"]?.stringValue }
    }
}
