import AerieAuth
import AerieCore
import AerieS3
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// An S3 server on memory primitives with an admin and two users, each with a credential, driven through
/// HummingbirdTesting's router client with requests signed by ``SigV4Signer``.
struct S3Fixture {
    let primitives: Primitives
    let auth: AuthService
    let server: S3Server
    let admin: SigV4Signer
    let bob: SigV4Signer
    let alice: SigV4Signer
    let bobReadOnly: SigV4Signer

    static func make(configuration: S3Configuration = .init(), primitives: Primitives = .memory(),
                     changes: any AuthChangeCounter = LocalAuthChangeCounter()) async throws -> S3Fixture {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let auth = try await AuthService.open(tables: primitives.tables, options: .init(bcryptCost: 4), logger: logger, changes: changes)
        try await auth.bootstrapAdmin(password: "admin-password-1", dataDirectory: nil)
        _ = try await auth.createUser("bob", password: "bob-password-1")
        _ = try await auth.createUser("alice", password: "alice-password-1")
        func signer(_ user: String, readOnly: Bool = false) async throws -> SigV4Signer {
            let created = try await auth.createS3Credential(owner: user, readOnly: readOnly)
            return SigV4Signer(accessKeyId: created.record.accessKeyId, secretAccessKey: created.secretAccessKey)
        }
        let server = S3Server(objects: primitives.objects, auth: auth, tables: primitives.tables, configuration: configuration, logger: logger)
        return S3Fixture(primitives: primitives, auth: auth, server: server, admin: try await signer("admin"), bob: try await signer("bob"),
                         alice: try await signer("alice"), bobReadOnly: try await signer("bob", readOnly: true))
    }

    func test(_ body: @Sendable (S3Client) async throws -> Void) async throws {
        let app = Application(responder: server.responder)
        try await app.test(.router) { client in try await body(S3Client(client: client)) }
    }
}

/// Sends signed S3 requests through a test client.
struct S3Client {
    let client: any TestClientProtocol

    /// Sends `method path?query` signed by `signer` (unsigned when nil), with the body's SHA-256 as payload hash
    /// unless `payloadHash` says otherwise.
    @discardableResult
    func send(_ signer: SigV4Signer?, _ method: HTTPRequest.Method, _ path: String, query: String = "", headers: [(String, String)] = [],
              body: Data = Data(), payloadHash: String? = nil, date: Date = Date()) async throws -> TestResponse {
        var fields = HTTPFields()
        for (name, value) in headers { if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) } }
        if let signer {
            let signed = signer.sign(method: method.rawValue, path: path, query: query,
                                     headers: [("host", "localhost")] + headers.map { (name: $0.0, value: $0.1) },
                                     payloadHash: payloadHash ?? SigV4.sha256Hex(body), date: date)
            for (name, value) in signed { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        }
        return try await client.execute(uri: query.isEmpty ? path : "\(path)?\(query)", method: method, headers: fields,
                                        body: body.isEmpty ? nil : ByteBuffer(bytes: body))
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var data: Data { Data(body.readableBytesView) }

    /// The `<Code>` of an S3 error document.
    var errorCode: String? {
        guard let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>") else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}

/// The values of every `<name>` element of an XML document, in order.
func elements(_ name: String, in xml: String) -> [String] {
    var values: [String] = []
    var rest = xml[...]
    while let start = rest.range(of: "<\(name)>"), let end = rest.range(of: "</\(name)>", range: start.upperBound..<rest.endIndex) {
        values.append(String(rest[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&apos;", with: "'").replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&"))
        rest = rest[end.upperBound...]
    }
    return values
}
