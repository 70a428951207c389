import AerieAuth
import AerieCore
import Foundation

/// The short-lived `image_url`s of Imagine's pictures, signed with the platform's ``LinkSigner`` and a secret kept in
/// table `imagine_settings`.
struct ImageURLSigner: Sendable {
    static let table = TableSchema(name: "imagine_settings", partitionKey: "name")
    static let secretName = "url-signing-secret"

    let signer: LinkSigner

    init(signer: LinkSigner) {
        self.signer = signer
    }

    /// The signer with the app's secret, created (once, for every node) on first start.
    static func load(tables: any TableStore) async throws -> ImageURLSigner {
        ImageURLSigner(signer: try await LinkSigner.load(tables: tables, table: table, name: secretName))
    }

    /// The signed path of the image's PNG, valid until `expires` (seconds since 1970).
    func url(id: String, expires: Int64) -> String {
        "/v1/apps/imagine/images/\(id).png?\(signer.query(id, expires: expires))"
    }

    /// Whether `signature` is the one for `id` and `expires` (constant-time comparison) and `expires` is not past.
    func verify(id: String, expires: Int64, signature: String, now: Date) -> Bool {
        signer.verify(id, expires: expires, signature: signature, now: now)
    }
}
