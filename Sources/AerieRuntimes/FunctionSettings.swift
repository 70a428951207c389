import AerieCore
import AerieFunctions
import Foundation

/// The languages a package can be written in.
public enum RuntimeKind: String, Sendable, Codable, CaseIterable {
    /// A Python handler (`module.function`) run by `awslambdaric` in the Python environment Aerie manages.
    case python3
    /// A custom runtime: the package's `bootstrap` executable (a shell script, a Go or Swift Lambda binary…).
    case provided
}

/// A deployed version's settings, as given at deploy (query parameters or the `X-Aerie-Function-Config` header).
public struct FunctionSettings: Sendable, Hashable, Codable {
    public var runtime: RuntimeKind
    /// `module.function` for python3 (required); passed as `_HANDLER` to a `provided` bootstrap.
    public var handler: String?
    /// MiB of address space the process may use (`RLIMIT_AS`); also `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    public var memory: Int
    /// Seconds an invocation may run before its process group is killed (HTTP 504).
    public var timeout: Double
    /// Processes (and so invocations) at once; as many callers more may wait for one, beyond that a call gets 429.
    public var concurrency: Int
    /// Environment variables given to the process.
    public var env: [String: String]
    /// Environment variables given to the process but never shown by the API (only their names).
    public var secretEnv: [String: String]
    /// An object trigger `bucket/prefix*suffix` (the `*` is optional: `bucket/prefix`).
    public var trigger: String?
    public var description: String

    public init(runtime: RuntimeKind, handler: String? = nil, memory: Int = 256, timeout: Double = 30, concurrency: Int = 4,
                env: [String: String] = [:], secretEnv: [String: String] = [:], trigger: String? = nil, description: String = "") {
        self.runtime = runtime
        self.handler = handler
        self.memory = memory
        self.timeout = timeout
        self.concurrency = concurrency
        self.env = env
        self.secretEnv = secretEnv
        self.trigger = trigger
        self.description = description
    }

    enum CodingKeys: String, CodingKey {
        case runtime, handler, memory, timeout, concurrency, env, trigger, description
        case secretEnv = "secret_env"
    }

    /// What a deploy request may say, every field optional; merged over the defaults.
    struct Request: Decodable {
        var runtime: String?
        var handler: String?
        var memory: Int?
        var timeout: Double?
        var concurrency: Int?
        var env: [String: String]?
        var secretEnv: [String: String]?
        var trigger: String?
        var description: String?
        enum CodingKeys: String, CodingKey {
            case runtime, handler, memory, timeout, concurrency, env, trigger, description
            case secretEnv = "secret_env"
        }
    }

    /// Settings from the JSON header and query parameters (a query parameter wins over the header's field).
    static func parse(header: String?, query: [String: [String]]) throws -> FunctionSettings {
        var request = Request()
        if let header {
            do {
                request = try JSONDecoder().decode(Request.self, from: Data(header.utf8))
            } catch {
                throw AerieError.invalid("X-Aerie-Function-Config must be a JSON object with runtime, handler, memory, timeout, concurrency, env, secret_env, trigger or description (\(error)).",
                                         field: "X-Aerie-Function-Config")
            }
        }
        func integer(_ name: String) throws -> Int? {
            guard let text = query[name]?.last else { return nil }
            guard let value = Int(text) else { throw AerieError.invalid("\(name) must be a whole number.", field: name) }
            return value
        }
        if let value = query["runtime"]?.last { request.runtime = value }
        if let value = query["handler"]?.last { request.handler = value }
        if let value = try integer("memory") { request.memory = value }
        if let value = try integer("concurrency") { request.concurrency = value }
        if let text = query["timeout"]?.last {
            guard let value = Double(text) else { throw AerieError.invalid("timeout must be a number of seconds.", field: "timeout") }
            request.timeout = value
        }
        if let value = query["trigger"]?.last { request.trigger = value }
        if let value = query["description"]?.last { request.description = value }
        for (name, field) in [("env", \Request.env), ("secret_env", \Request.secretEnv)] as [(String, WritableKeyPath<Request, [String: String]?>)] {
            for pair in query[name] ?? [] {
                guard let equals = pair.firstIndex(of: "=") else {
                    throw AerieError.invalid("\(name) takes KEY=VALUE (got \(pair)).", field: name)
                }
                var values = request[keyPath: field] ?? [:]
                values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
                request[keyPath: field] = values
            }
        }
        guard let runtimeName = request.runtime else {
            throw AerieError(.unprocessable, "Say which runtime runs the package: runtime=python3 or runtime=provided.", field: "runtime")
        }
        guard let runtime = RuntimeKind(rawValue: runtimeName) else {
            throw AerieError(.unprocessable, "Unknown runtime \(runtimeName); use python3 or provided.", field: "runtime")
        }
        let settings = FunctionSettings(runtime: runtime, handler: request.handler, memory: request.memory ?? 256, timeout: request.timeout ?? 30,
                                        concurrency: request.concurrency ?? 4, env: request.env ?? [:], secretEnv: request.secretEnv ?? [:],
                                        trigger: request.trigger, description: request.description ?? "")
        try settings.validate()
        return settings
    }

    func validate() throws {
        guard (32...16_384).contains(memory) else { throw AerieError(.unprocessable, "memory must be 32–16384 MiB.", field: "memory") }
        guard timeout >= 0.1, timeout <= 900 else { throw AerieError(.unprocessable, "timeout must be 0.1–900 seconds.", field: "timeout") }
        guard (1...64).contains(concurrency) else { throw AerieError(.unprocessable, "concurrency must be 1–64.", field: "concurrency") }
        for key in Array(env.keys) + Array(secretEnv.keys) {
            guard let first = key.unicodeScalars.first, first == "_" || CharacterSet.letters.contains(first),
                  key.unicodeScalars.allSatisfy({ $0.isASCII && ($0 == "_" || CharacterSet.alphanumerics.contains($0)) }),
                  !FunctionSettings.reservedEnvironment.contains(key) else {
                throw AerieError(.unprocessable, "The environment variable name \(key) is not allowed (letters, digits and _; not one Aerie sets).", field: "env")
            }
        }
        if runtime == .python3 {
            guard let handler, !handler.isEmpty, handler.contains("."), !handler.hasPrefix("."), !handler.hasSuffix("."),
                  handler.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "/" }) else {
                throw AerieError(.unprocessable, "A python3 function needs handler=module.function (for example app.handler).", field: "handler")
            }
        }
        if trigger != nil { _ = try objectTrigger() }
    }

    /// The object trigger of `trigger`, if any.
    func objectTrigger() throws -> Trigger? {
        guard let trigger, !trigger.isEmpty else { return nil }
        guard let slash = trigger.firstIndex(of: "/") else {
            throw AerieError(.unprocessable, "trigger takes bucket/prefix*suffix (got \(trigger)).", field: "trigger")
        }
        let bucket = String(trigger[..<slash])
        let pattern = trigger[trigger.index(after: slash)...]
        let parts = pattern.split(separator: "*", maxSplits: 1, omittingEmptySubsequences: false)
        guard (try? ObjectNames.validateBucket(bucket)) != nil else {
            throw AerieError(.unprocessable, "The trigger's bucket \(bucket) is not a valid bucket name.", field: "trigger")
        }
        return .object(bucket: bucket, prefix: String(parts.first ?? ""), suffix: parts.count > 1 ? String(parts[1]) : "")
    }

    static let reservedEnvironment: Set<String> = [
        "AWS_LAMBDA_RUNTIME_API", "_HANDLER", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "LAMBDA_TASK_ROOT", "AERIE_URL", "AERIE_API_KEY", "PATH", "PYTHONPATH",
    ]
}
