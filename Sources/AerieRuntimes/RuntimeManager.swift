import AerieAuth
import AerieCore
import AerieFunctions
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle
import Synchronization

/// Deployed functions: stores their packages, registers them with the ``FunctionRuntime`` (at start and on each
/// deploy), and runs their processes. Run it as a service next to the runtime: it stops idle processes (scale to
/// zero) and, on shutdown, every process it started.
public final class RuntimeManager: Service, Sendable {
    public struct Configuration: Sendable {
        /// The data directory: packages under `functions/`, the Python environment under `runtimes/python/`.
        public var dataDirectory: URL
        /// The gateway's URL given to functions as `AERIE_URL`.
        public var gatewayURL: String
        /// A process idle this long is stopped; the next invocation is a cold start.
        public var idleTimeout: Duration
        public var limits: FunctionPackage.Limits

        public init(dataDirectory: URL, gatewayURL: String, idleTimeout: Duration = .seconds(300), limits: FunctionPackage.Limits = .init()) {
            self.dataDirectory = dataDirectory
            self.gatewayURL = gatewayURL
            self.idleTimeout = idleTimeout
            self.limits = limits
        }
    }

    public let configuration: Configuration
    let runtime: FunctionRuntime
    let store: FunctionStore
    public let python: PythonEnvironment
    let logger: Logger
    private let pools = Mutex<[ObjectIdentifier: ProcessPool]>([:])
    /// This node's deploys, alias moves and deletes are checked and appended one at a time.
    private let deployLock = AsyncLock()
    /// Applies the functions log to this node's copy (see ``FunctionOperation``).
    private let follower: LogFollower<FunctionOutcome>
    private let following = Mutex<Task<Void, Never>?>(nil)

    /// The event log topic every deploy, alias move and delete goes through.
    public static let logTopic = "aerie.functions"
    /// The bucket holding deployed packages (`<function>/<sha256>.zip`).
    public static let packagesBucket = "aerie-functions"

    public init(configuration: Configuration, runtime: FunctionRuntime, logger: Logger) {
        self.configuration = configuration
        self.runtime = runtime
        let store = FunctionStore(dataDirectory: configuration.dataDirectory)
        self.store = store
        self.python = PythonEnvironment(dataDirectory: configuration.dataDirectory)
        self.logger = logger
        let applier = LogApplier()
        follower = LogFollower(
            topic: Self.logTopic, checkpoint: store.root.appendingPathComponent(".log-offset"), pollInterval: .milliseconds(250),
            appliedEarlier: .done,
            stopped: "This node stopped before applying the change; it is stored and applies when the node starts again."
        ) { record in await applier.apply(record) }
        applier.manager.withLock { $0.manager = self }
    }

    /// Starts applying the functions log (once; ``registerStored()`` does it).
    func startFollowing() {
        following.withLock { task in
            guard task == nil else { return }
            try? FileManager.default.createDirectory(at: store.root, withIntermediateDirectories: true)
            task = follower.start(events: runtime.primitives.events, signals: runtime.primitives.signals)
        }
    }

    /// Appends `operation` to the functions log and waits until this node has applied it.
    private func append(_ operation: FunctionOperation) async throws -> FunctionOutcome {
        startFollowing()
        let offset = try await runtime.primitives.events.append(topic: Self.logTopic, key: operation.function, payload: try operation.encoded())
        return try await follower.outcome(of: offset).get()
    }

    /// The scopes of the key a function's processes get.
    public static let functionKeyScopes = [APIKeyScope.objectsWrite, APIKeyScope.tables, APIKeyScope.queues, APIKeyScope.topics, APIKeyScope.functionsInvoke]

    // MARK: Registration

    /// Registers every stored function's latest version with the runtime (call at start, before the runtime runs).
    public func registerStored() async throws {
        endLeftovers()
        runtime.setQualifierResolver { [self] name, qualifier in
            guard isDeployed(name) else { return nil }
            let version = try resolve(name, qualifier: qualifier)
            return DeployedFunction(version: version, manager: self, qualified: true)
        }
        for name in store.names() {
            guard let latest = store.versions(name).last else { continue }
            try await register(latest)
        }
        startFollowing()
    }

    /// Whether `name` is a deployed function (not a built-in one).
    public func isDeployed(_ name: String) -> Bool {
        (try? Self.validateName(name)) != nil && !store.versions(name).isEmpty
    }

    func register(_ version: FunctionVersion) async throws {
        let handler = DeployedFunction(version: version, manager: self)
        try await runtime.deploy(handler: handler, triggers: try version.settings.objectTrigger().map { [$0] } ?? [])
    }

    // MARK: Deploy

    /// Deploys a zip as the function's next version and makes it the one invoked by name, on every node. Throws
    /// `.unprocessable` (422) for a bad package or settings, `.tooLarge` (413), `.conflict` (409) for the name of a
    /// built-in function.
    ///
    /// The package is checked here (it unpacks safely, its entry point is there), stored in the object store, and the
    /// deploy appended to the functions log; it returns once this node has installed it. Every other node installs it
    /// from the log in the same order.
    public func deploy(name: String, zip: Data, settings: FunctionSettings, deployedBy: String, auth: AuthService) async throws -> FunctionVersion {
        try Self.validateName(name)
        return try await deployLock.withLock {
            if await runtime.function(name) != nil, !isDeployed(name) {
                throw AerieError(.conflict, "\(name) is a built-in function; deploy under another name.")
            }
            let check = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-package-check-\(UUID().uuidString)", isDirectory: true)
            defer { try? FileManager.default.removeItem(at: check) }
            do {
                try FunctionPackage(limits: configuration.limits).unpack(zip, into: check)
            } catch let error as AerieError {
                throw error
            } catch {
                throw AerieError(.unprocessable, "The package could not be unpacked: \(error).")
            }
            try checkEntryPoint(settings, code: check)
            let sha256 = FunctionStore.sha256(zip)
            let package = "\(name)/\(sha256).zip"
            let objects = runtime.primitives.objects
            try await objects.ensureBucket(Self.packagesBucket)
            try await objects.put(bucket: Self.packagesBucket, key: package, data: zip,
                                  attributes: ObjectAttributes(contentType: "application/zip"))
            var key: FunctionKey?
            if store.key(name) == nil {
                let created = try await auth.createKey(name: "function \(name)", owner: deployedBy, scopes: Self.functionKeyScopes)
                key = FunctionKey(id: created.record.id, secret: created.key, owner: deployedBy)
            }
            let deployment = FunctionDeployment(function: name, settings: settings, sha256: sha256, size: zip.count, deployedBy: deployedBy,
                                                createdAt: Date(), package: package, key: key)
            guard case .deployed(let version) = try await append(.deploy(deployment)) else {
                throw AerieError(.internal, "The deploy of \(name) was applied without a version.")
            }
            logger.info("Function deployed", metadata: ["function": "\(name)", "version": "\(version.version)", "runtime": "\(settings.runtime.rawValue)"])
            return version
        }
    }

    private func checkEntryPoint(_ settings: FunctionSettings, code: URL) throws {
        switch settings.runtime {
        case .provided:
            let bootstrap = code.appendingPathComponent("bootstrap")
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: bootstrap.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw AerieError(.unprocessable, "A provided function needs an executable `bootstrap` at the top of the package; none was found.", field: "bootstrap")
            }
            guard FileManager.default.isExecutableFile(atPath: bootstrap.path) else {
                throw AerieError(.unprocessable, "The package's bootstrap is not executable; zip it with its execute bit (chmod +x bootstrap).", field: "bootstrap")
            }
        case .python3:
            guard python.isInstalled else {
                throw AerieError(.unprocessable, "The Python runtime is not installed; run `aerie runtimes install python` on the server's data directory first.", field: "runtime")
            }
            let handler = settings.handler ?? ""
            let module = handler.split(separator: ".").dropLast().joined(separator: "/")
            let file = code.appendingPathComponent("\(module).py")
            let package = code.appendingPathComponent("\(module)/__init__.py")
            guard FileManager.default.fileExists(atPath: file.path) || FileManager.default.fileExists(atPath: package.path) else {
                throw AerieError(.unprocessable, "The handler \(handler) names module \(module.replacingOccurrences(of: "/", with: ".")), but the package has no \(module).py.", field: "handler")
            }
        }
    }

    static func validateName(_ name: String) throws {
        guard !name.isEmpty, name.utf8.count <= 64, name.first?.isLetter == true,
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw AerieError.invalid("A function name is 1–64 ASCII letters, digits, - or _, starting with a letter (got \(name)).", field: "name")
        }
    }

    // MARK: Versions, aliases, delete

    public func versions(_ name: String) throws -> [FunctionVersion] {
        guard (try? Self.validateName(name)) != nil else { throw Self.unknown(name) }
        let versions = store.versions(name)
        guard !versions.isEmpty else { throw Self.unknown(name) }
        return versions
    }

    public func aliases(_ name: String) -> [String: Int] {
        (try? Self.validateName(name)) != nil ? store.aliases(name) : [:]
    }

    /// Points `alias` at `version` (rollback is moving an alias back).
    public func setAlias(_ name: String, alias: String, version: Int) async throws {
        try Self.validateName(alias)
        guard !alias.allSatisfy(\.isNumber) else { throw AerieError.invalid("An alias cannot be a number (that names a version).", field: "alias") }
        try await deployLock.withLock {
            let versions = try self.versions(name)
            guard versions.contains(where: { $0.version == version }) else {
                throw AerieError(.unprocessable, "Function \(name) has no version \(version) (it has \(versions.map { String($0.version) }.joined(separator: ", "))).", field: "version")
            }
            _ = try await append(.alias(function: name, alias: alias, version: version))
        }
    }

    /// Resolves `qualifier` (a version number or an alias) of a deployed function.
    public func resolve(_ name: String, qualifier: String) throws -> FunctionVersion {
        let versions = try self.versions(name)
        let number: Int
        if let value = Int(qualifier) {
            number = value
        } else if let aliased = store.aliases(name)[qualifier] {
            number = aliased
        } else {
            throw AerieError.notFound("Function \(name) has no version or alias \(qualifier); GET /v1/functions/\(name)/versions lists them.")
        }
        guard let version = versions.first(where: { $0.version == number }) else {
            throw AerieError.notFound("Function \(name) has no version \(number).")
        }
        return version
    }

    /// Removes a deployed function: no new invocation reaches it, its files and key are gone.
    public func delete(_ name: String, auth: AuthService) async throws {
        try await deployLock.withLock {
            guard isDeployed(name) else {
                if runtime.configuration(of: name) != nil {
                    throw AerieError(.conflict, "\(name) is a built-in function (an app's or the platform's); only deployed functions can be deleted.")
                }
                throw Self.unknown(name)
            }
            if let key = store.key(name) { _ = try? await auth.revokeKey(id: key.id) }
            _ = try await append(.delete(function: name))
            // Its packages go too (every node has installed or skipped them by now, or will skip them: the delete
            // follows them in the log).
            let objects = runtime.primitives.objects
            if let listing = try? await objects.list(bucket: Self.packagesBucket, ListObjectsRequest(prefix: name + "/")) {
                for object in listing.objects { _ = try? await objects.delete(bucket: Self.packagesBucket, key: object.key) }
            }
        }
    }

    // MARK: Applying the functions log

    /// Applies one operation of the functions log to this node's copy. The same on every node; an error (a package
    /// whose requirements fail to install here) is this node's outcome, and the next operations still apply.
    func apply(_ record: EventRecord) async -> Result<FunctionOutcome, AerieError> {
        do {
            switch try FunctionOperation.decode(record.payload) {
            case .deploy(let deployment):
                return try await applyDeploy(deployment, offset: record.offset)
            case .alias(let name, let alias, let version):
                guard store.versions(name).contains(where: { $0.version == version }) else {
                    throw AerieError(.unprocessable, "Function \(name) has no version \(version) on this node.", field: "version")
                }
                var aliases = store.aliases(name)
                aliases[alias] = version
                try store.setAliases(name, aliases)
                return .success(.done)
            case .delete(let name):
                await runtime.remove(name)
                for version in store.versions(name) { await runtime.remove(DeployedFunction.qualifiedName(name, version.version)) }
                try store.delete(name)
                return .success(.done)
            }
        } catch let error as AerieError {
            logger.warning("A functions log operation failed on this node", metadata: ["offset": "\(record.offset)", "error": "\(error.message)"])
            return .failure(error)
        } catch {
            logger.warning("A functions log operation failed on this node", metadata: ["offset": "\(record.offset)", "error": "\(error)"])
            return .failure(AerieError(.internal, "Applying a function change failed: \(error)"))
        }
    }

    /// Installs a deployed version from its package: unpacked, its requirements installed, numbered as on every node.
    private func applyDeploy(_ deployment: FunctionDeployment, offset: Int64) async throws -> Result<FunctionOutcome, AerieError> {
        let name = deployment.function
        var state = store.logState(name)
        if offset <= state.applied, let latest = store.versions(name).last {
            return .success(.deployed(latest))  // applied before a restart cut the checkpoint short
        }
        let number = state.lastVersion + 1
        state.lastVersion = number
        state.applied = offset
        // The number is taken even if installing fails here, so every node gives the next deploy the same one.
        try store.setLogState(name, state)
        let staging = try store.makeStaging(name)
        do {
            let zip = try await runtime.primitives.objects.get(bucket: Self.packagesBucket, key: deployment.package, range: nil).body
            let code = staging.appendingPathComponent("code")
            try FunctionPackage(limits: configuration.limits).unpack(zip, into: code)
            let requirements = code.appendingPathComponent("requirements.txt")
            if deployment.settings.runtime == .python3, FileManager.default.fileExists(atPath: requirements.path) {
                try await python.installRequirements(requirements, into: staging.appendingPathComponent("deps"))
            }
            if store.key(name) == nil, let key = deployment.key { try store.setKey(name, key) }
            let version = try store.commit(staging: staging, name: name, number: number, settings: deployment.settings, sha256: deployment.sha256,
                                           size: deployment.size, deployedBy: deployment.deployedBy, createdAt: deployment.createdAt)
            try await register(version)
            return .success(.deployed(version))
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error
        }
    }

    static func unknown(_ name: String) -> AerieError {
        AerieError.notFound("No deployed function named \(name); deploy one with PUT /v1/functions/\(name) or `aerie functions deploy`.")
    }

    // MARK: Processes

    /// Every function process (and what it starts) carries `AERIE_FUNCTION_OF=<data directory>`: the parent-death
    /// signal ends a function's own process when the server dies, and ``endLeftovers()`` ends what those processes
    /// started (a shell script's children) when the server starts again.
    static let markerVariable = "AERIE_FUNCTION_OF"
    var marker: String { configuration.dataDirectory.standardizedFileURL.path }

    /// Kills processes left by an earlier server on this data directory (found by their environment in /proc).
    func endLeftovers() {
        let needle = Data("\(Self.markerVariable)=\(marker)\u{0}".utf8)
        let me = getpid()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != me,
                  let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ"), environ.range(of: needle) != nil else { continue }
            logger.notice("Ending a process left by an earlier server", metadata: ["pid": "\(pid)"])
            kill(pid, SIGKILL)
        }
    }

    /// The command, directory and environment of a version's processes.
    func processSpec(_ version: FunctionVersion) throws -> ProcessSpec {
        let directory = store.versionDirectory(version.function, version.version)
        let code = directory.appendingPathComponent("code").path
        let settings = version.settings
        var environment: [String: String] = [
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "HOME": NSTemporaryDirectory(),
            "LAMBDA_TASK_ROOT": code,
            "AWS_LAMBDA_FUNCTION_NAME": version.function,
            "AWS_LAMBDA_FUNCTION_VERSION": String(version.version),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": String(settings.memory),
            "AWS_REGION": "aerie",
            "AERIE_URL": configuration.gatewayURL,
            Self.markerVariable: marker,
        ]
        if let handler = settings.handler { environment["_HANDLER"] = handler }
        if let key = store.key(version.function) { environment["AERIE_API_KEY"] = key.secret }
        environment.merge(settings.env) { _, new in new }
        environment.merge(settings.secretEnv) { _, new in new }
        let command: [String]
        switch settings.runtime {
        case .provided:
            command = ["\(code)/bootstrap"]
        case .python3:
            guard python.isInstalled else {
                throw AerieError(.functionFailed, "The Python runtime is not installed; run `aerie runtimes install python` on the server's data directory.")
            }
            environment["PYTHONPATH"] = "\(code):\(directory.appendingPathComponent("deps").path)"
            environment["PYTHONUNBUFFERED"] = "1"
            command = [python.python.path, "-m", "awslambdaric", settings.handler ?? ""]
        }
        return ProcessSpec(function: version.function, version: version.version, command: command, workingDirectory: code,
                           environment: environment, memoryMiB: settings.memory,
                           functionArn: "arn:aws:lambda:aerie:000000000000:function:\(version.function):\(version.version)")
    }

    func makePool(_ version: FunctionVersion) throws -> ProcessPool {
        let pool = ProcessPool(spec: try processSpec(version), idleTimeout: configuration.idleTimeout, logger: logger)
        pools.withLock { $0[ObjectIdentifier(pool)] = pool }
        return pool
    }

    func forget(_ pool: ProcessPool) {
        _ = pools.withLock { $0.removeValue(forKey: ObjectIdentifier(pool)) }
    }

    /// Processes running now, over every version (for tests and the console).
    public func processCount() async -> Int {
        var total = 0
        for pool in pools.withLock({ Array($0.values) }) { total += await pool.processCount }
        return total
    }

    // MARK: Service

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                for pool in self.pools.withLock({ Array($0.values) }) { await pool.reap(now: .now) }
            }
        }
        await stopAll()
    }

    /// Stops every process this manager started, and following the functions log.
    public func stopAll() async {
        following.withLock { task in
            task?.cancel()
            task = nil
        }
        let all = pools.withLock { pools -> [ProcessPool] in
            defer { pools = [:] }
            return Array(pools.values)
        }
        for pool in all { await pool.shutdown() }
    }
}

/// A deployed version as the functions runtime sees it: JSON in, JSON out, through a pool of processes.
struct DeployedFunction: FunctionHandler {
    let version: FunctionVersion
    let manager: RuntimeManager
    /// Whether this is a version invoked by qualifier (`name:3`), registered as `name.v3`.
    var qualified = false

    var name: String { qualified ? Self.qualifiedName(version.function, version.version) : version.function }

    static func qualifiedName(_ function: String, _ version: Int) -> String { "\(function).v\(version)" }

    var configuration: FunctionConfiguration {
        let settings = version.settings
        // maxWaiting 0 would answer 429 whenever an async worker briefly holds a slot to poll the function's queue
        // (even to sequential callers); so as many callers as there are processes may wait, and the next gets 429.
        return FunctionConfiguration(concurrency: settings.concurrency, maxWaiting: settings.concurrency, timeout: .milliseconds(Int64(settings.timeout * 1000)),
                                     retries: 2, idleUnload: manager.configuration.idleTimeout,
                                     description: settings.description.isEmpty ? "Deployed \(settings.runtime.rawValue) function, version \(version.version)" : settings.description)
    }

    func makeInstance(_ context: InitContext) async throws -> any FunctionInstance {
        PoolInstance(pool: try manager.makePool(version), manager: manager)
    }
}

struct PoolInstance: FunctionInstance {
    let pool: ProcessPool
    let manager: RuntimeManager

    func invoke(_ input: Data, context: InvocationContext) async throws -> Data {
        try await pool.invoke(input, context: context)
    }

    func shutdown() async {
        manager.forget(pool)
        await pool.shutdown()
    }
}

/// A lock for async code: one holder at a time, FIFO.
actor AsyncLock {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func withLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if locked {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            locked = true
        }
        defer {
            if waiters.isEmpty { locked = false } else { waiters.removeFirst().resume() }
        }
        return try await body()
    }
}

/// Hands the functions log's operations to the manager (which owns the follower, so it is set after both exist).
/// Holds it weakly: the manager owns the follower that owns this.
final class LogApplier: Sendable {
    struct Reference { weak var manager: RuntimeManager? }
    let manager = Mutex(Reference())

    func apply(_ record: EventRecord) async -> Result<FunctionOutcome, AerieError> {
        guard let manager = manager.withLock({ $0.manager }) else {
            return .failure(AerieError(.unavailable, "The functions runtime is not ready."))
        }
        return await manager.apply(record)
    }
}
