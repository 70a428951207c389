import AerieCore
import Foundation

/// Deploys, alias moves and deletes of deployed functions, as the nodes of a deployment share them.
///
/// A package is stored once in the object store (bucket ``RuntimeManager/packagesBucket``), and each change goes
/// through the event log topic ``RuntimeManager/logTopic``; every node applies every change in the log's order to its
/// own copy under `<data>/functions` (unpacking the package and installing its requirements there) and registers the
/// result with its functions runtime. So a function deployed through any node runs on every node, with the same
/// version numbers, and a delete or an alias move through any node holds on all of them. The embedded deployment
/// works the same way with one node.
enum FunctionOperation: Sendable {
    case deploy(FunctionDeployment)
    case alias(function: String, alias: String, version: Int)
    case delete(function: String)

    var function: String {
        switch self {
        case .deploy(let deployment): deployment.function
        case .alias(let function, _, _), .delete(let function): function
        }
    }

    private struct Wire: Codable {
        var op: String
        var function: String
        var deployment: FunctionDeployment?
        var alias: String?
        var version: Int?
    }

    func encoded() throws -> Data {
        let wire: Wire
        switch self {
        case .deploy(let deployment): wire = Wire(op: "deploy", function: deployment.function, deployment: deployment)
        case .alias(let function, let alias, let version): wire = Wire(op: "alias", function: function, alias: alias, version: version)
        case .delete(let function): wire = Wire(op: "delete", function: function)
        }
        return try JSONCoding.encode(wire)
    }

    static func decode(_ data: Data) throws -> FunctionOperation {
        let wire = try JSONCoding.decode(Wire.self, from: data)
        switch wire.op {
        case "deploy": if let deployment = wire.deployment { return .deploy(deployment) }
        case "alias": if let alias = wire.alias, let version = wire.version { return .alias(function: wire.function, alias: alias, version: version) }
        case "delete": return .delete(function: wire.function)
        default: break
        }
        throw AerieError(.internal, "The functions log holds an operation this version does not know (\(wire.op)).")
    }
}

/// A version as the log carries it: what every node needs to install it.
struct FunctionDeployment: Codable, Sendable {
    var function: String
    var settings: FunctionSettings
    var sha256: String
    var size: Int
    var deployedBy: String
    var createdAt: Date
    /// The package's key in ``RuntimeManager/packagesBucket``.
    var package: String
    /// The function's API key, made by the node that took its first deploy (a node keeps the first it sees).
    var key: FunctionKey?

    enum CodingKeys: String, CodingKey {
        case function, settings, sha256, size, package, key
        case deployedBy = "deployed_by"
        case createdAt = "created_at"
    }
}

/// What applying an operation gave its writer.
enum FunctionOutcome: Sendable {
    case deployed(FunctionVersion)
    case done
}
