import AerieCore
import Crypto
import Foundation

/// Opaque experiment ids: AES-GCM (256-bit key) of `internal id` + owner, URL-safe base64. Only the server can make
/// or read one; a forged, altered or truncated id fails authentication and is answered 404 without touching storage,
/// and so is another user's id (the owner inside it must be the caller, unless the caller is an admin).
///
/// The nonce is derived from the plaintext (HMAC-SHA256 under a second key, as in SIV), so an experiment keeps one id
/// for its whole life, commit included. The key lives in table `lab_settings`, next to the other secrets, so every
/// node of a deployment shares it.
struct ExperimentIDs: Sendable {
    let key: SymmetricKey
    let nonceKey: SymmetricKey

    init(secret: Data) {
        key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), info: Data("lab-id-encryption".utf8), outputByteCount: 32)
        nonceKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), info: Data("lab-id-nonce".utf8), outputByteCount: 32)
    }

    static let settingsTable = TableSchema(name: "lab_settings", partitionKey: "name")

    /// The ids of the key stored in `lab_settings` (created on first start, then shared by every node).
    static func load(tables: any TableStore) async throws -> ExperimentIDs {
        try await tables.ensureTable(settingsTable)
        let key = ItemKey(partition: .string("experiment-id-key"))
        if let text = try await tables.get(table: settingsTable.name, key: key)?.item["value"]?.stringValue, let secret = Base64URL.decode(text) {
            return ExperimentIDs(secret: secret)
        }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        do {
            try await tables.put(table: settingsTable.name, item: ["name": .string("experiment-id-key"), "value": .string(Base64URL.encode(fresh))],
                                 owner: nil, condition: .absent)
            return ExperimentIDs(secret: fresh)
        } catch let error as AerieError where error.code == .conditionFailed {
            guard let text = try await tables.get(table: settingsTable.name, key: key)?.item["value"]?.stringValue,
                  let secret = Base64URL.decode(text) else { throw error }
            return ExperimentIDs(secret: secret)
        }
    }

    /// The opaque id of experiment `id` owned by `owner`.
    func seal(id: String, owner: String) -> String {
        let plaintext = Data("\(id)\n\(owner)".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: plaintext, using: nonceKey)
        // Twelve bytes of a MAC always make a nonce, and the sealing of 12-byte nonces cannot fail.
        guard let nonce = try? AES.GCM.Nonce(data: Data(mac).prefix(12)),
              let sealed = try? AES.GCM.seal(plaintext, using: key, nonce: nonce), let combined = sealed.combined else {
            return ""
        }
        return Base64URL.encode(combined)
    }

    /// The internal id and owner inside `opaque`, or nil when it is not an id this server made.
    func open(_ opaque: String) -> (id: String, owner: String)? {
        guard opaque.count <= 512, let data = Base64URL.decode(opaque), data.count > 28,
              let box = try? AES.GCM.SealedBox(combined: data), let plaintext = try? AES.GCM.open(box, using: key),
              let text = String(data: plaintext, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        return (String(parts[0]), String(parts[1]))
    }
}
