import AerieAuth
import AerieCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore

/// The S3-compatible API: Aerie's buckets and objects through S3's protocol, for boto3, the AWS CLI and every SDK.
///
/// Objects written here are the Objects primitive's objects (the same ones `/v1/buckets/…` serves), with the same
/// events and triggers. Requests are authenticated with SigV4 against the S3 credentials of ``AuthService``; a
/// credential acts as its user: admins every bucket, users the buckets they own (``BucketOwners``).
///
/// ```swift
/// let server = S3Server(objects: primitives.objects, auth: auth, tables: primitives.tables, configuration: .init())
/// let app = try server.makeApplication(host: "127.0.0.1", port: 9000, tls: nil)
/// ```
public struct S3Server: Sendable {
    public let objects: any ObjectStore
    public let auth: AuthService
    public let owners: BucketOwners
    /// Multipart uploads' rows.
    let tables: any TableStore
    public let configuration: S3Configuration
    public let logger: Logger
    var verifier = SigV4Verifier()
    /// Unsealed credentials and their signing keys, valid while the credentials' generation stays the same.
    let credentials = S3CredentialCache()

    public init(objects: any ObjectStore, auth: AuthService, tables: any TableStore, configuration: S3Configuration = .init(),
                logger: Logger = Logger(label: "aerie.s3")) {
        self.objects = objects
        self.auth = auth
        self.owners = BucketOwners(tables: tables)
        self.tables = tables
        self.configuration = configuration
        self.logger = logger
    }

    /// The responder that answers S3 requests (for tests through HummingbirdTesting).
    public var responder: S3Responder { S3Responder(server: self) }

    /// The Hummingbird application serving the API on `host:port`, over HTTPS when `tls` is given.
    public func makeApplication(host: String, port: Int, tls: TLSConfiguration? = nil) throws -> Application<S3Responder> {
        let http1 = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [ContinueHandler()]))
        let builder = try tls.map { try HTTPServerBuilder.tls(http1, tlsConfiguration: $0) } ?? http1
        return Application(responder: responder, server: builder,
                           configuration: .init(address: .hostname(host, port: port), serverName: "AerieS3"), logger: logger)
    }

    /// A server TLS configuration from PEM files (certificate chain and private key).
    public static func tlsConfiguration(certificateFile: String, keyFile: String) throws -> TLSConfiguration {
        let certificates = try NIOSSLCertificate.fromPEMFile(certificateFile)
        let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        return TLSConfiguration.makeServerConfiguration(certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
    }
}

/// Answers every S3 request: authentication, authorization, then the operation; errors as S3's XML documents.
public struct S3Responder: HTTPResponder {
    public typealias Context = S3RequestContext
    let server: S3Server

    public func respond(to request: Request, context: S3RequestContext) async throws -> Response {
        let requestId = SigV4.hex(Secrets.randomBytes(8)).uppercased()
        let call = S3Call(request: request, domain: server.configuration.domain, eventLoop: context.eventLoop)
        var response: Response
        do {
            response = try await server.handle(call)
        } catch {
            let s3Error: S3Error
            switch error {
            case let error as S3Error: s3Error = error
            case let error as AerieError: s3Error = S3Error.from(error, bucket: call.bucket, key: call.key)
            default:
                server.logger.error("S3 request failed", metadata: ["request_id": "\(requestId)", "error": "\(error)"])
                s3Error = .internalError()
            }
            response = Self.errorResponse(s3Error, call: call, requestId: requestId)
        }
        response.headers[S3Headers.requestId] = requestId
        response.headers[S3Headers.id2] = requestId
        return response
    }

    static func errorResponse(_ error: S3Error, call: S3Call, requestId: String) -> Response {
        let status = HTTPResponse.Status(code: error.status)
        var headers: HTTPFields = [:]
        if error.status == 304 { return Response(status: status, headers: headers) }
        if call.method == .head {
            headers[S3Headers.errorCode] = error.code
            return Response(status: status, headers: headers)
        }
        let document = error.document(resource: call.rawPath, requestId: requestId)
        headers[.contentType] = "application/xml"
        headers[.contentLength] = String(document.utf8.count)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: document)))
    }
}

/// Per-request state of the S3 API: the connection's event loop, which streamed object bodies pace themselves by.
public struct S3RequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let eventLoop: any EventLoop

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        eventLoop = source.channel.eventLoop
    }
}

/// Header names S3 uses beyond the standard ones.
enum S3Headers {
    static let requestId = HTTPField.Name("x-amz-request-id")!
    static let id2 = HTTPField.Name("x-amz-id-2")!
    static let errorCode = HTTPField.Name("x-amz-error-code")!
    static let bucketRegion = HTTPField.Name("x-amz-bucket-region")!
}

/// One S3 request, parsed: the method, the raw path and query, the bucket and key it addresses, its headers.
struct S3Call: Sendable {
    let request: Request
    let method: HTTPRequest.Method
    let rawPath: String
    let rawQuery: String
    let bucket: String?
    let key: String?
    let query: [String: String]
    let signed: SignedRequest
    /// The connection's event loop: `ResponseBody(object:on:)` paces a download by it.
    let eventLoop: any EventLoop

    init(request: Request, domain: String?, eventLoop: any EventLoop) {
        self.request = request
        self.eventLoop = eventLoop
        method = request.method
        let target = request.head.path ?? "/"
        if let question = target.firstIndex(of: "?") {
            rawPath = String(target[..<question])
            rawQuery = String(target[target.index(after: question)...])
        } else {
            (rawPath, rawQuery) = (target, "")
        }
        let authority = request.head.authority ?? ""
        var headers: [(name: String, value: String)] = [("host", authority)]
        for field in request.headers { headers.append((field.name.canonicalName, field.value)) }
        signed = SignedRequest(method: request.method.rawValue, path: rawPath, query: rawQuery, headers: headers)
        var items: [String: String] = [:]
        for (name, value) in signed.queryItems where items[name] == nil { items[name] = value }
        query = items

        let host = Self.hostName(authority)
        if let domain, host.hasSuffix("." + domain), host.count > domain.count + 1 {
            bucket = String(host.dropLast(domain.count + 1))
            let rest = String(rawPath.dropFirst())
            key = rest.isEmpty ? nil : SigV4.percentDecode(rest)
        } else {
            let path = rawPath.hasPrefix("/") ? String(rawPath.dropFirst()) : rawPath
            if path.isEmpty {
                (bucket, key) = (nil, nil)
            } else if let slash = path.firstIndex(of: "/") {
                bucket = SigV4.percentDecode(String(path[..<slash]))
                let rest = String(path[path.index(after: slash)...])
                key = rest.isEmpty ? nil : SigV4.percentDecode(rest)
            } else {
                (bucket, key) = (SigV4.percentDecode(path), nil)
            }
        }
    }

    /// The host without its port (`[::1]:9000` → `[::1]`), lower-cased.
    static func hostName(_ authority: String) -> String {
        let lower = authority.lowercased()
        if lower.hasPrefix("[") { return lower.firstIndex(of: "]").map { String(lower[...$0]) } ?? lower }
        return lower.split(separator: ":", maxSplits: 1).first.map(String.init) ?? lower
    }

    func header(_ name: String) -> String? { signed.header(name) }
}
