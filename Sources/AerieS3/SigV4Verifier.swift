import AerieAuth
import Crypto
import Foundation

/// A request as the signature sees it: the method, the path and query as sent (percent-encoded), the headers.
public struct SignedRequest: Sendable {
    public var method: String
    /// The path as sent, percent-encoded, without the query.
    public var path: String
    /// The raw query string, without `?`.
    public var query: String
    /// Every header; `host` must be among them.
    public var headers: [(name: String, value: String)]

    public init(method: String, path: String, query: String, headers: [(name: String, value: String)]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The decoded query parameters, in order.
    public var queryItems: [(name: String, value: String)] {
        query.split(separator: "&", omittingEmptySubsequences: true).map { part in
            if let equals = part.firstIndex(of: "=") {
                return (SigV4.percentDecode(String(part[..<equals])), SigV4.percentDecode(String(part[part.index(after: equals)...])))
            }
            return (SigV4.percentDecode(String(part)), "")
        }
    }
}

/// What a verified signature establishes: who signed, and what chunk signatures (if any) must chain from.
public struct VerifiedSignature: Sendable {
    public var accessKeyId: String
    /// The request's signature: the seed of an aws-chunked body's chunk signatures.
    public var signature: String
    public var signingKey: SymmetricKey
    /// `20130524/us-east-1/s3/aws4_request`.
    public var scope: String
    /// `20130524T000000Z`.
    public var timestamp: String
    /// `x-amz-content-sha256` (a hex digest, `UNSIGNED-PAYLOAD` or a `STREAMING-…` mode); `UNSIGNED-PAYLOAD` for
    /// presigned URLs.
    public var payloadHash: String
}

/// Checks SigV4 signatures, in the `Authorization` header or in a presigned URL's query.
public struct SigV4Verifier: Sendable {
    /// The longest a request's time may be off the server's clock (S3: 15 minutes).
    public var maxSkew: TimeInterval = 15 * 60
    /// The longest a presigned URL may live (S3: 7 days).
    public var maxExpires = 604_800

    public init() {}

    /// The credential part of a signature: `AKID/20130524/us-east-1/s3/aws4_request`.
    struct Credential {
        var accessKeyId: String
        var date: String
        var region: String
        var service: String
        var scope: String { "\(date)/\(region)/\(service)/aws4_request" }

        init?(_ text: String) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 5, parts[4] == "aws4_request", !parts[0].isEmpty, parts[1].count == 8 else { return nil }
            (accessKeyId, date, region, service) = (parts[0], parts[1], parts[2], parts[3])
        }
    }

    /// Whether the request carries any SigV4 authentication (header or query).
    public static func isSigned(_ request: SignedRequest) -> Bool {
        request.header("authorization") != nil || request.queryItems.contains { $0.name == "X-Amz-Signature" }
    }

    /// The access key id the request claims, before any check (to look the secret up).
    public static func accessKeyId(of request: SignedRequest) throws -> String {
        if let header = request.header("authorization") {
            return try parseHeader(header).credential.accessKeyId
        }
        guard let credential = request.queryItems.first(where: { $0.name == "X-Amz-Credential" })?.value,
              let parsed = Credential(credential) else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Credential is missing or malformed; expected <key id>/<yyyymmdd>/<region>/s3/aws4_request.")
        }
        return parsed.accessKeyId
    }

    static func parseHeader(_ header: String) throws -> (credential: Credential, signedHeaders: [String], signature: String) {
        guard header.hasPrefix(SigV4.algorithm + " ") else {
            if header.hasPrefix("AWS ") {
                throw S3Error.invalidRequest("Signature Version 2 is not supported; sign with AWS4-HMAC-SHA256 (boto3: Config(signature_version='s3v4')).")
            }
            throw S3Error.authorizationHeaderMalformed("The authorization header is malformed; it must start with AWS4-HMAC-SHA256.")
        }
        var fields: [String: String] = [:]
        for part in header.dropFirst(SigV4.algorithm.count + 1).split(separator: ",") {
            let item = part.trimmingCharacters(in: .whitespaces)
            guard let equals = item.firstIndex(of: "=") else { continue }
            fields[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        guard let credentialText = fields["Credential"], let credential = Credential(credentialText) else {
            throw S3Error.authorizationHeaderMalformed("The authorization header's Credential is malformed; expected <key id>/<yyyymmdd>/<region>/s3/aws4_request.")
        }
        guard let signedHeaders = fields["SignedHeaders"], !signedHeaders.isEmpty else {
            throw S3Error.authorizationHeaderMalformed("The authorization header has no SignedHeaders.")
        }
        guard let signature = fields["Signature"], signature.count == 64 else {
            throw S3Error.authorizationHeaderMalformed("The authorization header's Signature is missing or not 64 hex digits.")
        }
        return (credential, signedHeaders.split(separator: ";").map { $0.lowercased() }, signature)
    }

    /// Derives the signing key of a scope: `(date, region, service)`.
    public typealias SigningKeyProvider = (_ date: String, _ region: String, _ service: String) -> SymmetricKey

    /// Verifies the request's signature with `secret` (the secret of the claimed access key id).
    ///
    /// `signingKey`, when given, supplies the derived key (a cache of ``SigV4/signingKey(secret:date:region:service:)``
    /// for `secret`); otherwise it is derived here.
    ///
    /// Throws ``S3Error``: `SignatureDoesNotMatch`, `RequestTimeTooSkewed`, `AccessDenied` (expired presigned URL),
    /// `AuthorizationHeaderMalformed`, `AuthorizationQueryParametersError`.
    public func verify(_ request: SignedRequest, secret: String, now: Date = Date(),
                       signingKey: SigningKeyProvider? = nil) throws -> VerifiedSignature {
        let keys = signingKey ?? { SigV4.signingKey(secret: secret, date: $0, region: $1, service: $2) }
        if let header = request.header("authorization") {
            return try verifyHeader(request, header: header, keys: keys, now: now)
        }
        return try verifyQuery(request, keys: keys, now: now)
    }

    private func verifyHeader(_ request: SignedRequest, header: String, keys: SigningKeyProvider, now: Date) throws -> VerifiedSignature {
        let (credential, signedHeaders, signature) = try Self.parseHeader(header)
        guard signedHeaders.contains("host") else {
            throw S3Error.authorizationHeaderMalformed("SignedHeaders must include host.")
        }
        let timestamp: String
        let requestDate: Date
        if let amzDate = request.header("x-amz-date") {
            guard let parsed = SigV4.parseTimestamp(amzDate) else {
                throw S3Error.accessDenied("X-Amz-Date \"\(amzDate)\" is not in the yyyyMMddTHHmmssZ form.")
            }
            (timestamp, requestDate) = (amzDate, parsed)
        } else if let date = request.header("date"), let parsed = S3Time.parseHTTPDate(date) {
            (timestamp, requestDate) = (SigV4.timestamp(parsed), parsed)
        } else {
            throw S3Error.accessDenied("AWS authentication requires a valid Date or x-amz-date header")
        }
        guard abs(requestDate.timeIntervalSince(now)) <= maxSkew else {
            throw S3Error.requestTimeTooSkewed(requestTime: timestamp, serverTime: SigV4.timestamp(now))
        }
        guard timestamp.hasPrefix(credential.date) else {
            throw S3Error.authorizationHeaderMalformed("The Credential's date \(credential.date) is not the date of X-Amz-Date \(timestamp).")
        }
        guard let payloadHash = request.header("x-amz-content-sha256") else {
            throw S3Error.invalidRequest("Missing required header for this request: x-amz-content-sha256")
        }
        let canonical = SigV4.canonicalRequest(method: request.method, path: request.path, query: request.query,
                                               headers: request.headers, signedHeaders: signedHeaders, payloadHash: payloadHash)
        return try check(canonical: canonical, credential: credential, timestamp: timestamp, keys: keys, signature: signature,
                         payloadHash: payloadHash)
    }

    private func verifyQuery(_ request: SignedRequest, keys: SigningKeyProvider, now: Date) throws -> VerifiedSignature {
        var items: [String: String] = [:]
        for (name, value) in request.queryItems where items[name] == nil { items[name] = value }
        guard items["X-Amz-Algorithm"] == SigV4.algorithm else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\".")
        }
        guard let credentialText = items["X-Amz-Credential"], let credential = Credential(credentialText) else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Credential is missing or malformed; expected <key id>/<yyyymmdd>/<region>/s3/aws4_request.")
        }
        guard let timestamp = items["X-Amz-Date"], let date = SigV4.parseTimestamp(timestamp) else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".")
        }
        guard let expiresText = items["X-Amz-Expires"], let expires = Int(expiresText), expires >= 0 else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Expires should be a number of seconds.")
        }
        guard expires <= maxExpires else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Expires must be less than a week (in seconds) that is; 604800.")
        }
        guard let signedHeadersText = items["X-Amz-SignedHeaders"], let signature = items["X-Amz-Signature"] else {
            throw S3Error.authorizationQueryParametersError("Query-string authentication requires X-Amz-SignedHeaders and X-Amz-Signature.")
        }
        guard date.timeIntervalSince(now) <= maxSkew else {
            throw S3Error.requestTimeTooSkewed(requestTime: timestamp, serverTime: SigV4.timestamp(now))
        }
        guard now.timeIntervalSince(date) <= TimeInterval(expires) else {
            throw S3Error.expired(expires: S3Time.iso8601(date.addingTimeInterval(TimeInterval(expires))), serverTime: S3Time.iso8601(now))
        }
        let signedHeaders = signedHeadersText.split(separator: ";").map { $0.lowercased() }
        let payloadHash = request.header("x-amz-content-sha256") ?? SigV4.unsignedPayload
        let canonical = SigV4.canonicalRequest(method: request.method, path: request.path, query: request.query,
                                               headers: request.headers, signedHeaders: signedHeaders,
                                               payloadHash: SigV4.unsignedPayload, excluding: "X-Amz-Signature")
        var verified = try check(canonical: canonical, credential: credential, timestamp: timestamp, keys: keys,
                                 signature: signature, payloadHash: SigV4.unsignedPayload)
        verified.payloadHash = payloadHash.hasPrefix("STREAMING-") ? payloadHash : SigV4.unsignedPayload
        return verified
    }

    private func check(canonical: String, credential: Credential, timestamp: String, keys: SigningKeyProvider, signature: String,
                       payloadHash: String) throws -> VerifiedSignature {
        let toSign = SigV4.stringToSign(timestamp: timestamp, scope: credential.scope, canonicalRequest: canonical)
        let key = keys(credential.date, credential.region, credential.service)
        let expected = SigV4.signature(key: key, stringToSign: toSign)
        guard Secrets.constantTimeEqual(expected, signature.lowercased()) else {
            throw S3Error.signatureDoesNotMatch(stringToSign: toSign, canonicalRequest: canonical)
        }
        return VerifiedSignature(accessKeyId: credential.accessKeyId, signature: expected, signingKey: key, scope: credential.scope,
                                 timestamp: timestamp, payloadHash: payloadHash)
    }
}
