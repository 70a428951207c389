import AerieAuth
import AerieCore
import AerieHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// The deploy routes (admins): `PUT /v1/functions/{name}` (a zip), `GET /v1/functions/{name}/versions`,
/// `POST /v1/functions/{name}/aliases/{alias}`, `DELETE /v1/functions/{name}`. Invoking stays on the functions routes
/// (`POST /v1/functions/{name}/invoke`, with `name:3` or `name:alias` for a version).
public struct RuntimeRoutes: GatewayExtension {
    let manager: RuntimeManager

    public init(manager: RuntimeManager) {
        self.manager = manager
    }

    struct VersionBody: Encodable {
        var function: String
        var version: Int
        var runtime: String
        var handler: String?
        var memory: Int
        var timeout: Double
        var concurrency: Int
        var env: [String: String]
        /// Names only: secret values are never shown.
        var secretEnv: [String]
        var trigger: String?
        var description: String
        var sha256: String
        var size: Int
        var createdAt: Date
        var deployedBy: String
        var aliases: [String]

        init(_ version: FunctionVersion, aliases: [String: Int]) {
            function = version.function
            self.version = version.version
            runtime = version.settings.runtime.rawValue
            handler = version.settings.handler
            memory = version.settings.memory
            timeout = version.settings.timeout
            concurrency = version.settings.concurrency
            env = version.settings.env
            secretEnv = version.settings.secretEnv.keys.sorted()
            trigger = version.settings.trigger
            description = version.settings.description
            sha256 = version.sha256
            size = version.size
            createdAt = version.createdAt
            deployedBy = version.deployedBy
            self.aliases = aliases.filter { $0.value == version.version }.keys.sorted()
        }

        enum CodingKeys: String, CodingKey {
            case function, version, runtime, handler, memory, timeout, concurrency, env, trigger, description, sha256, size, aliases
            case secretEnv = "secret_env"
            case createdAt = "created_at"
            case deployedBy = "deployed_by"
        }
    }

    struct VersionList: Encodable {
        var items: [VersionBody]
        var aliases: [String: Int]
    }

    struct AliasRequest: Decodable {
        var version: Int
    }

    struct AliasBody: Encodable {
        var function: String
        var alias: String
        var version: Int
    }

    public func routes(gateway: AppGatewayContext) throws -> [GatewayRoute] {
        let auth = gateway.auth
        let manager = self.manager
        let jsonLimit = gateway.configuration.maxJSONBodySize
        return [
            GatewayRoute(.put, "/v1/functions/{name}", summary: "Deploy a function package (a zip) as its next version (admins)", tag: "functions",
                         access: .admin, request: .binary, status: 201, response: .json("FunctionVersion"),
                         query: [("runtime", "python3 or provided."), ("handler", "module.function (python3)."),
                                 ("memory", "MiB of memory (RLIMIT_AS), 32–16384; default 256."), ("timeout", "Seconds, 0.1–900; default 30."),
                                 ("concurrency", "Processes at once, 1–64; default 4."), ("env", "KEY=VALUE, repeatable."),
                                 ("secret_env", "KEY=VALUE never shown again, repeatable."), ("trigger", "An object trigger bucket/prefix*suffix."),
                                 ("description", "One sentence.")],
                         statuses: [409, 415, 422]) { request, context in
                let name = try context.pathParameter("name")
                let identity = try context.requireIdentity()
                if let type = request.headers[.contentType] {
                    let media = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
                    guard ["application/zip", "application/x-zip-compressed", "application/octet-stream"].contains(media) else {
                        throw AerieError(.unsupportedMediaType, "Send the package as a zip with `Content-Type: application/zip` (got \(type)).")
                    }
                }
                var query: [String: [String]] = [:]
                for (key, value) in request.uri.queryParameters {
                    query[String(key), default: []].append(String(value))
                }
                let settings = try FunctionSettings.parse(header: request.headers[HTTPField.Name("X-Aerie-Function-Config")!], query: query)
                let zip = try await request.collectData(limit: manager.configuration.limits.maxArchiveBytes)
                guard !zip.isEmpty else { throw AerieError(.unprocessable, "The body is empty; send the package as a zip.") }
                let version = try await manager.deploy(name: name, zip: zip, settings: settings, deployedBy: identity.username, auth: auth)
                return try Response.json(VersionBody(version, aliases: manager.aliases(name)), status: .created,
                                         headers: [.location: "/v1/functions/\(name)/versions"])
            },
            GatewayRoute(.get, "/v1/functions/{name}/versions", summary: "A deployed function's versions and aliases (admins)", tag: "functions",
                         access: .admin, response: .json("FunctionVersionList")) { _, context in
                let name = try context.pathParameter("name")
                let versions = try manager.versions(name)
                let aliases = manager.aliases(name)
                return try Response.json(VersionList(items: versions.map { VersionBody($0, aliases: aliases) }, aliases: aliases))
            },
            GatewayRoute(.post, "/v1/functions/{name}/aliases/{alias}", summary: "Point an alias at a version (admins); invoke it as name:alias",
                         tag: "functions", access: .admin, request: .json("FunctionAliasRequest"), response: .json("FunctionAlias"),
                         statuses: [422]) { request, context in
                let name = try context.pathParameter("name")
                let alias = try context.pathParameter("alias")
                let body = try await request.decodeJSON(AliasRequest.self, limit: jsonLimit)
                _ = try manager.versions(name)
                try await manager.setAlias(name, alias: alias, version: body.version)
                return try Response.json(AliasBody(function: name, alias: alias, version: body.version))
            },
            GatewayRoute(.delete, "/v1/functions/{name}", summary: "Delete a deployed function with its versions (admins; 409 for a built-in one)",
                         tag: "functions", access: .admin, status: 204, statuses: [409]) { _, context in
                try await manager.delete(try context.pathParameter("name"), auth: auth)
                return Response(status: .noContent)
            },
        ]
    }

    public func openAPISchemas() -> [String: JSONValue] {
        func property(_ type: JSONValue, _ description: String) -> JSONValue {
            .object(["type": type, "description": .string(description)])
        }
        let version: JSONValue = .object([
            "type": "object",
            "required": ["function", "version", "runtime", "memory", "timeout", "concurrency", "env", "secret_env", "sha256", "size", "created_at", "deployed_by", "aliases"],
            "properties": .object([
                "function": property("string", "The function's name."),
                "version": property("integer", "1, 2, 3… in deploy order; invoke it as name:N."),
                "runtime": .object(["type": "string", "enum": ["python3", "provided"]]),
                "handler": property(["string", "null"], "module.function (python3)."),
                "memory": property("integer", "MiB."),
                "timeout": property("number", "Seconds."),
                "concurrency": property("integer", "Processes at once."),
                "env": .object(["type": "object", "additionalProperties": ["type": "string"]]),
                "secret_env": .object(["type": "array", "items": ["type": "string"], "description": "Names of the secret variables (values never shown)."]),
                "trigger": property(["string", "null"], "bucket/prefix*suffix."),
                "description": property("string", "One sentence."),
                "sha256": property("string", "SHA-256 of the zip."),
                "size": property("integer", "Bytes of the zip."),
                "created_at": .object(["type": "string", "format": "date-time"]),
                "deployed_by": property("string", "The admin who deployed it."),
                "aliases": .object(["type": "array", "items": ["type": "string"], "description": "Aliases pointing at this version."]),
            ]),
        ])
        return [
            "FunctionVersion": version,
            "FunctionVersionList": .object([
                "type": "object", "required": ["items", "aliases"],
                "properties": .object([
                    "items": .object(["type": "array", "items": ["$ref": "#/components/schemas/FunctionVersion"]]),
                    "aliases": .object(["type": "object", "additionalProperties": ["type": "integer"]]),
                ]),
            ]),
            "FunctionAliasRequest": .object([
                "type": "object", "required": ["version"],
                "properties": .object(["version": property("integer", "The version the alias points at.")]),
            ]),
            "FunctionAlias": .object([
                "type": "object", "required": ["function", "alias", "version"],
                "properties": .object(["function": property("string", ""), "alias": property("string", ""), "version": property("integer", "")]),
            ]),
        ]
    }
}
