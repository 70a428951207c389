import AerieCore
import Crypto
import Foundation

/// Signs and checks short-lived links: HMAC-SHA256 over `<subject>.<expires>` with a secret an app keeps in one of its
/// tables, so an `<img>` tag (or someone the link was given to) can load one resource without credentials until the
/// link expires. The secret is created once, by whichever node starts first, with a conditional write, so every node
/// of a deployment signs and checks with the same one.
public struct LinkSigner: Sendable {
    let key: SymmetricKey

    public init(secret: Data) {
        key = SymmetricKey(data: secret)
    }

    /// The signer with the secret stored as item `name` of `table` (partition key `name`, value in `value`), created
    /// on first use.
    public static func load(tables: any TableStore, table: TableSchema, name: String) async throws -> LinkSigner {
        try await tables.ensureTable(table)
        let itemKey = ItemKey(partition: .string(name))
        if let secret = try await storedSecret(tables, table: table.name, key: itemKey) { return LinkSigner(secret: secret) }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        do {
            try await tables.put(table: table.name, item: [table.partitionKey: .string(name), "value": .string(Base64URL.encode(fresh))],
                                 owner: nil, condition: .absent)
            return LinkSigner(secret: fresh)
        } catch let error as AerieError where error.code == .conditionFailed {
            guard let secret = try await storedSecret(tables, table: table.name, key: itemKey) else { throw error }
            return LinkSigner(secret: secret)
        }
    }

    private static func storedSecret(_ tables: any TableStore, table: String, key: ItemKey) async throws -> Data? {
        guard let text = try await tables.get(table: table, key: key)?.item["value"]?.stringValue else { return nil }
        return Base64URL.decode(text)
    }

    /// The signature of `subject` until `expires` (seconds since 1970), URL-safe base64.
    public func signature(_ subject: String, expires: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(subject).\(expires)".utf8), using: key)
        return Base64URL.encode(Data(mac))
    }

    /// `expires=<expires>&signature=<signature>`, to append to a link's query.
    public func query(_ subject: String, expires: Int64) -> String {
        "expires=\(expires)&signature=\(signature(subject, expires: expires))"
    }

    /// Whether `signature` is the one for `subject` and `expires` (constant-time comparison) and `expires` is not past.
    public func verify(_ subject: String, expires: Int64, signature: String, now: Date) -> Bool {
        guard let given = Base64URL.decode(signature),
            HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data("\(subject).\(expires)".utf8), using: key)
        else { return false }
        return Double(expires) > now.timeIntervalSince1970
    }
}
