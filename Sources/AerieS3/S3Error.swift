import AerieCore
import Foundation

/// An error as S3 reports it: a stable code (`NoSuchKey`, `SignatureDoesNotMatch`…), its HTTP status and a
/// message, written as S3's XML error document with the request id.
public struct S3Error: Error, Sendable, Hashable {
    public var code: String
    public var status: Int
    public var message: String
    /// Extra elements of the document (`BucketName`, `Key`, `StringToSign`…), in order.
    public var details: [(String, String)]

    public init(_ code: String, status: Int, _ message: String, details: [(String, String)] = []) {
        self.code = code
        self.status = status
        self.message = message
        self.details = details
    }

    public static func == (a: S3Error, b: S3Error) -> Bool {
        a.code == b.code && a.status == b.status && a.message == b.message
            && a.details.map(\.0) == b.details.map(\.0) && a.details.map(\.1) == b.details.map(\.1)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(status)
        hasher.combine(message)
    }

    /// The XML error document.
    public func document(resource: String, requestId: String) -> String {
        var xml = XMLWriter()
        xml.open("Error")
        xml.element("Code", code)
        xml.element("Message", message)
        for (name, value) in details { xml.element(name, value) }
        xml.element("Resource", resource)
        xml.element("RequestId", requestId)
        xml.close("Error")
        return xml.text
    }

    // MARK: The codes Aerie answers

    public static func accessDenied(_ message: String = "Access Denied") -> S3Error { S3Error("AccessDenied", status: 403, message) }
    public static func invalidAccessKeyId(_ id: String) -> S3Error {
        S3Error("InvalidAccessKeyId", status: 403, "The AWS Access Key Id you provided does not exist in our records; create one with `aerie s3 credentials create`.",
                details: [("AWSAccessKeyId", id)])
    }
    public static func signatureDoesNotMatch(stringToSign: String, canonicalRequest: String) -> S3Error {
        S3Error("SignatureDoesNotMatch", status: 403,
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
                details: [("StringToSign", stringToSign), ("CanonicalRequest", canonicalRequest)])
    }
    public static func requestTimeTooSkewed(requestTime: String, serverTime: String) -> S3Error {
        S3Error("RequestTimeTooSkewed", status: 403, "The difference between the request time and the current time is too large (over 15 minutes); check the client's clock.",
                details: [("RequestTime", requestTime), ("ServerTime", serverTime), ("MaxAllowedSkewMilliseconds", "900000")])
    }
    public static func expired(expires: String, serverTime: String) -> S3Error {
        S3Error("AccessDenied", status: 403, "Request has expired", details: [("Expires", expires), ("ServerTime", serverTime)])
    }
    public static func authorizationHeaderMalformed(_ message: String) -> S3Error { S3Error("AuthorizationHeaderMalformed", status: 400, message) }
    public static func authorizationQueryParametersError(_ message: String) -> S3Error { S3Error("AuthorizationQueryParametersError", status: 400, message) }
    public static func missingSecurityHeader(_ name: String) -> S3Error {
        S3Error("MissingSecurityHeader", status: 400, "Your request is missing a required header: \(name).", details: [("MissingHeaderName", name)])
    }
    public static func invalidArgument(_ message: String, name: String? = nil, value: String? = nil) -> S3Error {
        var details: [(String, String)] = []
        if let name { details.append(("ArgumentName", name)) }
        if let value { details.append(("ArgumentValue", value)) }
        return S3Error("InvalidArgument", status: 400, message, details: details)
    }
    public static func invalidRequest(_ message: String) -> S3Error { S3Error("InvalidRequest", status: 400, message) }
    public static func contentSHA256Mismatch(client: String, computed: String) -> S3Error {
        S3Error("XAmzContentSHA256Mismatch", status: 400, "The provided 'x-amz-content-sha256' header does not match what was computed.",
                details: [("ClientComputedContentSHA256", client), ("S3ComputedContentSHA256", computed)])
    }
    public static func badDigest(_ message: String = "The Content-MD5 or checksum you specified did not match what we received.") -> S3Error {
        S3Error("BadDigest", status: 400, message)
    }
    public static func invalidDigest(_ message: String = "The Content-MD5 or checksum you specified is not valid.") -> S3Error {
        S3Error("InvalidDigest", status: 400, message)
    }
    public static func noSuchBucket(_ bucket: String) -> S3Error {
        S3Error("NoSuchBucket", status: 404, "The specified bucket does not exist", details: [("BucketName", bucket)])
    }
    public static func noSuchKey(_ key: String) -> S3Error { S3Error("NoSuchKey", status: 404, "The specified key does not exist.", details: [("Key", key)]) }
    public static func bucketAlreadyOwnedByYou(_ bucket: String) -> S3Error {
        S3Error("BucketAlreadyOwnedByYou", status: 409, "Your previous request to create the named bucket succeeded and you already own it.", details: [("BucketName", bucket)])
    }
    public static func bucketAlreadyExists(_ bucket: String) -> S3Error {
        S3Error("BucketAlreadyExists", status: 409, "The requested bucket name is not available; choose another name.", details: [("BucketName", bucket)])
    }
    public static func bucketNotEmpty(_ bucket: String) -> S3Error {
        S3Error("BucketNotEmpty", status: 409, "The bucket you tried to delete is not empty; delete its objects first.", details: [("BucketName", bucket)])
    }
    public static func invalidBucketName(_ bucket: String) -> S3Error {
        S3Error("InvalidBucketName", status: 400, "The specified bucket is not valid.", details: [("BucketName", bucket)])
    }
    public static func keyTooLong() -> S3Error { S3Error("KeyTooLongError", status: 400, "Your key is too long (the limit is 1,024 bytes of UTF-8).") }
    public static func invalidRange(size: Int64) -> S3Error {
        S3Error("InvalidRange", status: 416, "The requested range is not satisfiable", details: [("ActualObjectSize", String(size))])
    }
    public static let preconditionFailed = S3Error("PreconditionFailed", status: 412, "At least one of the pre-conditions you specified did not hold")
    public static let notModified = S3Error("NotModified", status: 304, "Not Modified")
    public static func entityTooLarge(limit: Int64) -> S3Error {
        S3Error("EntityTooLarge", status: 400, "Your proposed upload exceeds the maximum allowed object size.", details: [("MaxSizeAllowed", String(limit))])
    }
    public static let entityTooSmall = S3Error("EntityTooSmall", status: 400, "Your proposed upload is smaller than the minimum allowed object size.")
    public static let incompleteBody = S3Error("IncompleteBody", status: 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
    public static let missingContentLength = S3Error("MissingContentLength", status: 411, "You must provide the Content-Length HTTP header.")
    public static let malformedXML = S3Error("MalformedXML", status: 400, "The XML you provided was not well-formed or did not validate against our published schema.")
    public static func methodNotAllowed(_ method: String) -> S3Error {
        S3Error("MethodNotAllowed", status: 405, "The specified method is not allowed against this resource.", details: [("Method", method)])
    }
    public static func notImplemented(_ what: String) -> S3Error {
        S3Error("NotImplemented", status: 501, "\(what) is not implemented by Aerie's S3 API.")
    }
    public static func internalError(_ message: String = "We encountered an internal error. Please try again.") -> S3Error {
        S3Error("InternalError", status: 500, message)
    }

    /// Translates the platform's errors into S3's.
    public static func from(_ error: AerieError, bucket: String?, key: String?) -> S3Error {
        switch error.code {
        case .notFound:
            if let key, error.message.lowercased().contains("object") || error.message.lowercased().contains("key") { return .noSuchKey(key) }
            if let bucket { return .noSuchBucket(bucket) }
            return S3Error("NoSuchKey", status: 404, error.message)
        case .tooLarge: return S3Error("EntityTooLarge", status: 400, error.message)
        case .conflict: return S3Error("OperationAborted", status: 409, error.message)
        case .invalidArgument:
            if error.field == "bucket" { return S3Error("InvalidBucketName", status: 400, error.message) }
            if error.field == "range" { return S3Error("InvalidRange", status: 416, error.message) }
            if error.field == "key" { return key.map { $0.utf8.count > 1024 } == true ? .keyTooLong() : .invalidArgument(error.message) }
            return .invalidArgument(error.message)
        case .forbidden, .unauthenticated: return .accessDenied(error.message)
        // S3 has no full-disk error; MinIO answers 507 with its own code, and so do we.
        case .insufficientStorage: return S3Error("XAerieStorageFull", status: 507, error.message)
        default: return .internalError(error.message)
        }
    }
}
