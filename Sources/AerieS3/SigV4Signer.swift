import Foundation

/// Signs S3 requests with SigV4: the `Authorization` header, or a presigned URL's query. The client side of
/// ``SigV4Verifier`` (for Aerie's own S3 calls and for tests).
public struct SigV4Signer: Sendable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var region: String
    public var service: String

    public init(accessKeyId: String, secretAccessKey: String, region: String = "us-east-1", service: String = "s3") {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.region = region
        self.service = service
    }

    /// The headers to add to a request: `x-amz-date`, `x-amz-content-sha256` and `Authorization`. `headers` must
    /// hold `host`; all of them are signed.
    ///
    /// - Parameters:
    ///   - path: The path as it will be sent (percent-encoded).
    ///   - query: The query string as it will be sent, without `?`.
    ///   - payloadHash: The body's SHA-256 in hex, or ``SigV4/unsignedPayload``, or a `STREAMING-…` mode.
    public func sign(method: String, path: String, query: String = "", headers: [(name: String, value: String)],
                     payloadHash: String, date: Date = Date()) -> [(name: String, value: String)] {
        let timestamp = SigV4.timestamp(date)
        var all = headers.map { (name: $0.name.lowercased(), value: $0.value) }
        all.append(("x-amz-date", timestamp))
        all.append(("x-amz-content-sha256", payloadHash))
        let signedHeaders = Array(Set(all.map(\.name))).sorted()
        let scope = "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
        let canonical = SigV4.canonicalRequest(method: method, path: path, query: query, headers: all, signedHeaders: signedHeaders,
                                               payloadHash: payloadHash)
        let key = SigV4.signingKey(secret: secretAccessKey, date: String(timestamp.prefix(8)), region: region, service: service)
        let signature = SigV4.signature(key: key, stringToSign: SigV4.stringToSign(timestamp: timestamp, scope: scope, canonicalRequest: canonical))
        return [("x-amz-date", timestamp), ("x-amz-content-sha256", payloadHash),
                ("Authorization", "\(SigV4.algorithm) Credential=\(accessKeyId)/\(scope),SignedHeaders=\(signedHeaders.joined(separator: ";")),Signature=\(signature)")]
    }

    /// The query string of a presigned URL (signed header: `host` only), to append to `path` after `?`.
    public func presignedQuery(method: String, path: String, host: String, query: String = "", expires: Int, date: Date = Date()) -> String {
        let timestamp = SigV4.timestamp(date)
        let scope = "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
        var parts = query.isEmpty ? [] : [query]
        parts += [
            "X-Amz-Algorithm=\(SigV4.algorithm)",
            "X-Amz-Credential=\(SigV4.uriEncode("\(accessKeyId)/\(scope)", keepSlash: false))",
            "X-Amz-Date=\(timestamp)", "X-Amz-Expires=\(expires)", "X-Amz-SignedHeaders=host",
        ]
        let unsigned = parts.joined(separator: "&")
        let canonical = SigV4.canonicalRequest(method: method, path: path, query: unsigned, headers: [("host", host)],
                                               signedHeaders: ["host"], payloadHash: SigV4.unsignedPayload)
        let key = SigV4.signingKey(secret: secretAccessKey, date: String(timestamp.prefix(8)), region: region, service: service)
        let signature = SigV4.signature(key: key, stringToSign: SigV4.stringToSign(timestamp: timestamp, scope: scope, canonicalRequest: canonical))
        return unsigned + "&X-Amz-Signature=\(signature)"
    }
}
