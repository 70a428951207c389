import AerieAuth
import AerieCore
import Foundation
import Hummingbird

/// S3 credentials for the S3-compatible API (`/v1/s3/credentials`): admins make them for any user, users for
/// themselves. The secret is shown once, in the response that creates it.
struct S3CredentialRoutes {
    let auth: AuthService
    let configuration: GatewayConfiguration

    struct CreateRequest: Decodable {
        var user: String?
        var readOnly: Bool?
        enum CodingKeys: String, CodingKey {
            case user
            case readOnly = "read_only"
        }
    }

    /// Signed-in users (tokens and page sessions) and admin API keys: a narrower key must not mint a credential
    /// with its user's full rights.
    static let access = Access.authenticated(keyScope: APIKeyScope.admin)

    var routes: [GatewayRoute] {
        let limit = configuration.maxJSONBodySize
        return [
            GatewayRoute(.post, "/v1/s3/credentials", summary: "Create an S3 credential (its secret is shown only in this response)",
                         tag: "s3", access: Self.access, request: .json("CreateS3Credential"), status: 201,
                         response: .json("CreatedS3Credential")) { [auth] request, context in
                let identity = try context.requireIdentity()
                let body = try await request.decodeOptionalJSON(CreateRequest.self, limit: limit, empty: CreateRequest())
                let owner = body.user ?? identity.username
                guard owner == identity.username || identity.isAdmin else {
                    throw AerieError(.forbidden, "Only admins make S3 credentials for other users; leave out \"user\" to make one for yourself.")
                }
                return try Response.json(try await auth.createS3Credential(owner: owner, readOnly: body.readOnly ?? false), status: .created)
            },
            GatewayRoute(.get, "/v1/s3/credentials", summary: "List S3 credentials (an admin sees all, a user their own; no secrets)",
                         tag: "s3", access: Self.access, response: .json("S3CredentialList"),
                         query: [("cursor", "From a previous page's next_cursor."), ("limit", "1–1000, default 100.")]) { [auth] request, context in
                let identity = try context.requireIdentity()
                let page = try await auth.listS3Credentials(owner: identity.isAdmin ? nil : identity.username,
                                                            limit: try request.queryInt("limit", default: 100, range: 1...1000),
                                                            cursor: request.query("cursor"))
                return try Response.json(ListBody(items: page.items, nextCursor: page.nextCursor))
            },
            GatewayRoute(.delete, "/v1/s3/credentials/{id}", summary: "Revoke an S3 credential", tag: "s3", access: Self.access,
                         status: 204) { [auth] _, context in
                let identity = try context.requireIdentity()
                let id = try context.pathParameter("id")
                guard let record = try await auth.s3Credential(id), identity.isAdmin || record.owner == identity.username else {
                    throw AerieError.notFound("No S3 credential with access key id \"\(id)\"; GET /v1/s3/credentials lists yours.")
                }
                try await auth.revokeS3Credential(id)
                return Response.empty(.noContent)
            },
        ]
    }
}
