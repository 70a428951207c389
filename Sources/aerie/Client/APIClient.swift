import AerieCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Talks to a running Aerie server for the client commands (`login`, `invoke`, `objects`, `invocations`).
struct APIClient: Sendable {
    var server: URL
    var token: String?

    /// A response read whole.
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
    }

    func url(_ path: String, query: [(String, String?)] = []) -> String {
        var components = URLComponents(url: server, resolvingAgainstBaseURL: false) ?? URLComponents()
        components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path) + path
        let items = query.compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        components.queryItems = items.isEmpty ? nil : items
        return components.string ?? server.absoluteString + path
    }

    func request(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], headers: [(String, String)] = [],
                 body: Data? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url(path, query: query))
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "User-Agent", value: "aerie-cli")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
        }
        return request
    }

    /// Sends a request and returns the response; a 4xx/5xx becomes a ``CLIError`` carrying the problem's detail.
    func send(_ request: HTTPClientRequest, timeout: TimeAmount = .seconds(300), maxBody: Int = 1 << 30) async throws -> Response {
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: timeout)
        } catch {
            throw CLIError("cannot reach the Aerie server at \(server.absoluteString): \(error). Is it running (`make run`)? Set --server or AERIE_URL.")
        }
        let buffer = try await response.body.collect(upTo: maxBody)
        let result = Response(status: Int(response.status.code), headers: response.headers, body: Data(buffer.readableBytesView))
        if result.status >= 400 { throw CLIError.problem(result) }
        return result
    }

    /// Sends a request and returns the streaming response (for server-sent events and downloads).
    func stream(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .hours(24))
        } catch {
            throw CLIError("cannot reach the Aerie server at \(server.absoluteString): \(error)")
        }
        if response.status.code >= 400 {
            let buffer = try await response.body.collect(upTo: 1 << 20)
            throw CLIError.problem(Response(status: Int(response.status.code), headers: response.headers, body: Data(buffer.readableBytesView)))
        }
        return response
    }
}

/// An error the CLI prints as `error: …` before exiting non-zero.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }

    /// Turns a problem+json response into a one-paragraph message.
    static func problem(_ response: APIClient.Response) -> CLIError {
        guard let problem = try? JSONValue.parse(response.body), case .object(let fields) = problem else {
            let text = String(decoding: response.body.prefix(500), as: UTF8.self)
            return CLIError("the server answered \(response.status): \(text)")
        }
        var message = "\(fields["title"]?.stringValue ?? "HTTP \(response.status)") (\(response.status))"
        if let detail = fields["detail"]?.stringValue { message += ": \(detail)" }
        if case .array(let errors)? = fields["errors"] {
            for error in errors {
                message += "\n  \(error["pointer"]?.stringValue ?? "?"): \(error["detail"]?.stringValue ?? "")"
            }
        }
        if response.status == 401 { message += "\nLog in with `aerie login` or set AERIE_TOKEN." }
        return CLIError(message)
    }
}
