import AerieAuth
import AerieCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension S3Server {
    /// Authenticates the call, then runs the operation it names.
    func handle(_ call: S3Call) async throws -> Response {
        let (principal, signature) = try await authenticate(call)
        guard let bucket = call.bucket else {
            guard call.method == .get else { throw S3Error.methodNotAllowed(call.method.rawValue) }
            return try await listBuckets(principal)
        }
        guard let key = call.key else {
            switch call.method {
            case .put:
                if call.query["acl"] != nil { return try await putACL(call, bucket, key: nil, principal) }
                return try await createBucket(bucket, principal)
            case .head: return try await headBucket(bucket, principal)
            case .delete:
                if call.query["uploads"] != nil || call.query["cors"] != nil || call.query["policy"] != nil {
                    throw S3Error.notImplemented("This bucket subresource")
                }
                return try await deleteBucket(bucket, principal)
            case .get:
                if call.query["location"] != nil { return try await bucketLocation(bucket, principal) }
                if call.query["versioning"] != nil { return try await bucketVersioning(bucket, principal) }
                if call.query["uploads"] != nil { return try await listMultipartUploads(call, bucket, principal) }
                if call.query["versions"] != nil { return try await listObjectVersions(call, bucket, principal) }
                if call.query["acl"] != nil { return try await getACL(bucket, key: nil, principal) }
                for subresource in ["acl", "policy", "cors", "lifecycle", "tagging", "website", "logging", "notification", "encryption",
                                    "object-lock", "replication", "ownershipControls", "publicAccessBlock"]
                where call.query[subresource] != nil {
                    throw S3Error.notImplemented("The bucket subresource ?\(subresource)")
                }
                if call.query["list-type"] == "2" { return try await listObjects(call, bucket, principal, version: 2) }
                return try await listObjects(call, bucket, principal, version: 1)
            case .post:
                if call.query["delete"] != nil { return try await deleteObjects(call, bucket, principal, signature) }
                throw S3Error.notImplemented("This POST on a bucket")
            default: throw S3Error.methodNotAllowed(call.method.rawValue)
            }
        }
        try validateKey(key)
        if let id = call.query["uploadId"] {
            switch call.method {
            case .put: return try await uploadPart(call, bucket, key, principal, signature, id: id)
            case .get: return try await listParts(call, bucket, key, principal, id: id)
            case .post: return try await completeMultipartUpload(call, bucket, key, principal, signature, id: id)
            case .delete: return try await abortMultipartUpload(bucket, key, principal, id: id)
            default: throw S3Error.methodNotAllowed(call.method.rawValue)
            }
        }
        if call.query["uploads"] != nil {
            guard call.method == .post else { throw S3Error.methodNotAllowed(call.method.rawValue) }
            return try await createMultipartUpload(call, bucket, key, principal)
        }
        if call.query["acl"] != nil {
            switch call.method {
            case .get: return try await getACL(bucket, key: key, principal)
            case .put: return try await putACL(call, bucket, key: key, principal)
            default: throw S3Error.methodNotAllowed(call.method.rawValue)
            }
        }
        for subresource in ["tagging", "retention", "legal-hold", "attributes", "torrent"] where call.query[subresource] != nil {
            throw S3Error.notImplemented("The object subresource ?\(subresource)")
        }
        switch call.method {
        case .put:
            if call.header("x-amz-copy-source") != nil { return try await copyObject(call, bucket, key, principal) }
            return try await putObject(call, bucket, key, principal, signature)
        case .get: return try await getObject(call, bucket, key, principal, head: false)
        case .head: return try await getObject(call, bucket, key, principal, head: true)
        case .delete: return try await deleteObject(bucket, key, principal)
        case .post: throw S3Error.notImplemented("This POST on an object")
        default: throw S3Error.methodNotAllowed(call.method.rawValue)
        }
    }

    /// Checks the SigV4 signature and returns the credential's principal.
    func authenticate(_ call: S3Call) async throws -> (S3Principal, VerifiedSignature) {
        guard SigV4Verifier.isSigned(call.signed) else {
            throw S3Error.accessDenied("Anonymous access is not allowed. Sign requests with an Aerie S3 credential (`aerie s3 credentials create`).")
        }
        let accessKeyId = try SigV4Verifier.accessKeyId(of: call.signed)
        // The generation is read before the lookup, so a revocation between the two leaves a stale entry unused.
        let generation = try await auth.s3CredentialsGeneration()
        let principal: S3Principal
        if let cached = credentials.principal(accessKeyId, generation: generation) {
            principal = cached
        } else {
            guard let found = try await auth.s3Principal(accessKeyId) else { throw S3Error.invalidAccessKeyId(accessKeyId) }
            credentials.store(found, generation: generation)
            principal = found
        }
        let cache = credentials
        let signature = try verifier.verify(call.signed, secret: principal.secretAccessKey) { date, region, service in
            cache.signingKey(principal, date: date, region: region, service: service)
        }
        return (principal, signature)
    }

    /// Throws `AccessDenied` unless the principal may use the bucket (and write, when `write`).
    func authorize(_ principal: S3Principal, bucket: String, write: Bool) async throws {
        if write, principal.readOnly {
            throw S3Error.accessDenied("This S3 credential is read-only; use a credential made without --read-only to write.")
        }
        guard try await owners.allows(username: principal.username, role: principal.role, bucket: bucket) else {
            throw S3Error.accessDenied("Access Denied: the bucket \"\(bucket)\" belongs to another user.")
        }
    }

    func validateKey(_ key: String) throws {
        guard key.utf8.count <= ObjectNames.maxKeyBytes else { throw S3Error.keyTooLong() }
        do {
            try ObjectNames.validateKey(key)
        } catch let error as AerieError {
            throw S3Error.invalidArgument(error.message, name: "key", value: key)
        }
    }

    static func xml(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/xml"
        headers[.contentLength] = String(text.utf8.count)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
