import AerieCore
import Foundation

/// The OpenAPI 3.1 document of the gateway, generated from the same ``RouteTable`` the router is built from.
public struct OpenAPIDocument: Sendable {
    public var routes: [GatewayRoute]
    public var version: String
    /// Schemas the apps' routes refer to, added to the platform's (which win on a name clash).
    public var schemas: [String: JSONValue]

    public init(routes: [GatewayRoute], version: String = "0.1.0", schemas: [String: JSONValue] = [:]) {
        self.routes = routes
        self.version = version
        self.schemas = schemas
    }

    /// The document as JSON.
    public func json() -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for route in routes {
            paths[route.openAPIPath, default: [:]][route.method.rawValue.lowercased()] = operation(route)
        }
        return .object([
            "openapi": "3.1.0",
            "info": .object([
                "title": "Aerie", "version": .string(version),
                "description": "Aerie's HTTP API. Every error is `application/problem+json` (RFC 9457) with a `type` from /problems (docs/problems.md).",
            ]),
            "paths": .object(paths.mapValues { .object($0) }),
            "components": .object([
                "securitySchemes": .object([
                    "bearer": .object(["type": "http", "scheme": "bearer",
                                       "description": "A token from POST /v1/auth/login, or an API key `aerie_…`."]),
                    "session": .object(["type": "apiKey", "in": "cookie", "name": "aerie_session"]),
                ]),
                "schemas": .object(OpenAPISchemas.all.merging(schemas) { platform, _ in platform }),
            ]),
        ])
    }

    func operation(_ route: GatewayRoute) -> JSONValue {
        var operation: [String: JSONValue] = [
            "summary": .string(route.summary),
            "tags": .array([.string(route.tag)]),
            "operationId": .string(operationId(route)),
            "x-aerie-access": .string(route.access.requirement),
        ]
        if route.access != .anyone {
            operation["security"] = .array([.object(["bearer": .array([])]), .object(["session": .array([])])])
        }
        var parameters: [JSONValue] = route.pathParameters.map { name in
            .object(["name": .string(name), "in": "path", "required": true, "schema": .object(["type": "string"]),
                     "description": name == "key" && route.path.hasSuffix("**") ? "The object key; may contain `/`." : .string("The \(name).")])
        }
        parameters += route.query.map { query in
            .object(["name": .string(query.name), "in": "query", "required": false, "schema": .object(["type": "string"]),
                     "description": .string(query.description)])
        }
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
        if let request = route.request {
            operation["requestBody"] = .object(["required": true, "content": content(request)])
        }
        var responses: [String: JSONValue] = [:]
        for status in route.documentedStatuses {
            if status < 400 {
                var success: [String: JSONValue] = ["description": .string(statusText(status))]
                if let response = route.response, status != 204, status != 304 { success["content"] = content(response) }
                responses[String(status)] = .object(success)
            } else {
                var content: [String: JSONValue] = ["application/problem+json": .object(["schema": ref("Problem")])]
                if route.response == .html { content["text/html"] = .object(["schema": .object(["type": "string"])]) }
                responses[String(status)] = .object(["description": .string(ProblemType.forStatus(status).title), "content": .object(content)])
            }
        }
        responses["default"] = .object([
            "description": "A problem (RFC 9457).",
            "content": .object(["application/problem+json": .object(["schema": ref("Problem")])]),
        ])
        operation["responses"] = .object(responses)
        return .object(operation)
    }

    func content(_ body: BodySpec) -> JSONValue {
        switch body {
        case .json(let name): .object(["application/json": .object(["schema": ref(name)])])
        case .binary: .object(["application/octet-stream": .object(["schema": .object(["type": "string", "contentMediaType": "application/octet-stream"])])])
        // Each server-sent event (as OpenAPI 3.2's itemSchema for text/event-stream: one object per event, its data a
        // JSON text), so a client or fuzzer can check every event of the stream.
        case .eventStream:
            .object(["text/event-stream": .object(["schema": .object([
                "type": "object", "required": ["event", "data"],
                "properties": ["id": ["type": "string"], "event": ["type": "string"], "data": ["type": "string", "contentMediaType": "application/json"],
                               "retry": ["type": "integer"]],
            ])])])
        case .text: .object(["text/plain": .object(["schema": .object(["type": "string"])])])
        case .form: .object(["application/x-www-form-urlencoded": .object(["schema": ref("LoginRequest")])])
        case .html: .object(["text/html": .object(["schema": .object(["type": "string"])])])
        }
    }

    func ref(_ name: String) -> JSONValue {
        .object(["$ref": .string("#/components/schemas/\(name)")])
    }

    func operationId(_ route: GatewayRoute) -> String {
        let words = route.openAPIPath.split(separator: "/").map { part in
            part.trimmingCharacters(in: CharacterSet(charactersIn: "{}")).replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "_")
        }
        return ([route.method.rawValue.lowercased()] + words).joined(separator: "_")
    }

    func statusText(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No content"
        case 206: "Partial content"
        case 303: "See other"
        case 304: "Not modified"
        default: "Status \(status)"
        }
    }
}
