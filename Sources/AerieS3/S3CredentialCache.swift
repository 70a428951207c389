import AerieAuth
import Crypto
import Synchronization

/// The S3 credentials the API has looked up, unsealed, with their derived SigV4 signing keys, so that a request by a
/// known credential costs one read of the auth change counter (``AuthService/s3CredentialsGeneration()``, a `pread` on
/// a data directory) instead of three table reads, an AES-GCM open and four HMACs.
///
/// Not a time-based cache: an entry is used only while the generation it was read under is still the stored one, and
/// the generation changes when any credential is revoked or any user disabled, by this process or another on the same
/// data directory (`aerie users disable --data`, the nodes of a split deployment). So a revoked credential fails on the next
/// request after the revocation returned.
final class S3CredentialCache: Sendable {
    struct Entry {
        var generation: String
        var principal: S3Principal
        /// Signing keys by `date/region/service` (a day's worth per credential, a few at most).
        var signingKeys: [String: SymmetricKey] = [:]
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Past this many credentials the cache starts over (a bound against a flood of valid keys, not a policy).
    let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The principal of `accessKeyId` if it was stored under `generation`.
    func principal(_ accessKeyId: String, generation: String) -> S3Principal? {
        entries.withLock { entries in
            guard let entry = entries[accessKeyId], entry.generation == generation else { return nil }
            return entry.principal
        }
    }

    /// Remembers a principal looked up under `generation` (read before the lookup).
    func store(_ principal: S3Principal, generation: String) {
        entries.withLock { entries in
            if entries[principal.accessKeyId] == nil, entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[principal.accessKeyId] = Entry(generation: generation, principal: principal)
        }
    }

    /// The SigV4 signing key of `principal` for a scope, derived once per scope while its entry is current.
    func signingKey(_ principal: S3Principal, date: String, region: String, service: String) -> SymmetricKey {
        let scope = "\(date)/\(region)/\(service)"
        if let key = entries.withLock({ $0[principal.accessKeyId].flatMap { $0.principal == principal ? $0.signingKeys[scope] : nil } }) {
            return key
        }
        let key = SigV4.signingKey(secret: principal.secretAccessKey, date: date, region: region, service: service)
        entries.withLock { entries in
            guard var entry = entries[principal.accessKeyId], entry.principal == principal else { return }
            if entry.signingKeys.count >= 8 { entry.signingKeys.removeAll() }
            entry.signingKeys[scope] = key
            entries[principal.accessKeyId] = entry
        }
        return key
    }

    var count: Int { entries.withLock { $0.count } }
}
