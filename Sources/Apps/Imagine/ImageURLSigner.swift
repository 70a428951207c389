import AerieCore
import Crypto
import Foundation

/// Signs and checks the short-lived `image_url`s: HMAC-SHA256 over `<id>.<expires>` with a secret kept in table
/// `imagine_settings`, so an `<img>` tag can load an image without credentials until the URL expires.
struct ImageURLSigner: Sendable {
    static let table = TableSchema(name: "imagine_settings", partitionKey: "name")
    static let secretName = "url-signing-secret"

    let key: SymmetricKey

    init(secret: Data) {
        key = SymmetricKey(data: secret)
    }

    /// The signer with the app's secret, created (once, for every node) on first start.
    static func load(tables: any TableStore) async throws -> ImageURLSigner {
        try await tables.ensureTable(table)
        let itemKey = ItemKey(partition: .string(secretName))
        if let secret = try await storedSecret(tables, itemKey) { return ImageURLSigner(secret: secret) }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        do {
            try await tables.put(table: table.name, item: ["name": .string(secretName), "value": .string(Base64URL.encode(fresh))],
                                 owner: nil, condition: .absent)
            return ImageURLSigner(secret: fresh)
        } catch let error as AerieError where error.code == .conditionFailed {
            guard let secret = try await storedSecret(tables, itemKey) else { throw error }
            return ImageURLSigner(secret: secret)
        }
    }

    private static func storedSecret(_ tables: any TableStore, _ key: ItemKey) async throws -> Data? {
        guard let text = try await tables.get(table: table.name, key: key)?.item["value"]?.stringValue else { return nil }
        return Base64URL.decode(text)
    }

    func signature(id: String, expires: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(expires)".utf8), using: key)
        return Base64URL.encode(Data(mac))
    }

    /// The signed path of the image's PNG, valid until `expires` (seconds since 1970).
    func url(id: String, expires: Int64) -> String {
        "/v1/apps/imagine/images/\(id).png?expires=\(expires)&signature=\(signature(id: id, expires: expires))"
    }

    /// Whether `signature` is the one for `id` and `expires` (constant-time comparison) and `expires` is not past.
    func verify(id: String, expires: Int64, signature: String, now: Date) -> Bool {
        guard let given = Base64URL.decode(signature),
            HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data("\(id).\(expires)".utf8), using: key)
        else { return false }
        return Double(expires) > now.timeIntervalSince1970
    }
}
