import AerieCore
import AerieFunctions
import AerieHTTP
import AerieS3
import AeriePostgres
import AerieSQLite
import AerieAuth
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import Faces
import Gallery
import AerieMail
import AerieRuntimes
import Lab
import Imagine
import Pipeline
import Quickstart
import NIOCore
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run Aerie: the gateway, the functions runtime and the enabled apps, on the embedded storage.",
        discussion: """
        On first start the admin user is created with the password in $AERIE_ADMIN_PASSWORD, or a generated one
        written to <data>/admin-password (mode 0600). Stop with Ctrl-C (or SIGTERM): in-flight requests finish first.

        Examples:
          aerie serve
          aerie serve --data /var/lib/aerie --host 0.0.0.0 --port 9000 --durability strict
          aerie serve --s3-port 9000     # also the S3-compatible API (credentials: aerie s3 credentials create)

        Roles (--role, repeatable; default all): a `gateway` serves the HTTP API, the pages and the S3 API, runs sync
        invocations and queues async ones and trigger deliveries; a `worker` takes them from the queues (async
        invocations, object and topic triggers, schedules) and serves only GET /health and GET /metrics on --port.
        Processes with different roles share one data directory, or one PostgreSQL database:
          aerie serve --role gateway --port 8080 &
          aerie serve --role worker --port 8081 &

        Scale-out (--database or AERIE_DATABASE_URL): tables, queue, event log, records, auth and object metadata on
        PostgreSQL, object bytes in --object-store (a folder every node shares); any number of nodes with the same
        options form one deployment. Set AERIE_ADMIN_PASSWORD on every node (a generated one is written only by the
        node that created the admin):
          aerie serve --database postgres://aerie:secret@db:5432/aerie --object-store file:///srv/aerie-objects
        """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var deployment: DeploymentOptions
    @Option(help: "What this process does: all (default), gateway or worker; repeatable (see above).") var role: [ServeRole] = []
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on.") var port = 8080
    @Option(help: "Largest object upload accepted, in MiB.") var maxBodyMib = 100
    @Option(name: .customLong("cors-origin"), help: "An origin allowed to call the API from a browser (repeatable; '*' for any).")
    var corsOrigins: [String] = []
    @Option(help: "Requests per second allowed per caller (token or key); 0 disables the limit.") var rateLimit = 50.0
    @Option(help: "Server-sent event streams one user may hold open at once; the next gets 429.") var maxEventStreamsPerUser = 32
    @Option(help: "Apps to enable, comma-separated (available: quickstart, pipeline, imagine, gallery, faces, lab), or 'none'. Imagine reads AERIE_IMAGINE_*, Gallery AERIE_GALLERY_*, Faces AERIE_FACES_* (see README).")
    var apps = "quickstart,pipeline,imagine,gallery,faces,lab"
    @Option(help: "Where email goes (Faces' watches): smtp://USER:PASS@HOST:587 (STARTTLS when offered; ?tls=starttls to require it, ?ca_file=PEM) or smtps://HOST:465.")
    var smtpUrl: String?
    @Option(help: "The sender address of Aerie's email (with --smtp-url).") var smtpFrom: String?
    @Option(help: "Largest CSV the pipeline app accepts, in MiB.") var pipelineMaxMib = 32
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Option(help: "Log lines: json (one JSON object a line) or human (| DATE: DD/MM/YYYY | TIME: HH:MM:SS | [ FLOW @ FUNCTION ] …).")
    var logFormat = "json"
    @Option(help: "Days finished invocation records are kept (their events: 7 days); 0 keeps them forever.") var recordRetentionDays = 30.0
    @Option(name: .customLong("s3-port"), help: "Serve the S3-compatible API on this port (off unless given; `make run` uses 9000).")
    var s3Port: Int?
    @Option(name: .customLong("s3-domain"), help: "Also accept virtual-host style S3 requests to <bucket>.<this domain>.")
    var s3Domain: String?
    @Option(name: .customLong("s3-tls-cert"), help: "PEM certificate (chain) file: serve the S3 API over HTTPS (with --s3-tls-key).")
    var s3TLSCert: String?
    @Option(name: .customLong("s3-tls-key"), help: "PEM private key file of --s3-tls-cert.")
    var s3TLSKey: String?
    @Option(name: .customLong("s3-region"), help: "The region S3 clients are told the buckets are in.") var s3Region = "us-east-1"
    @Option(help: "Seconds a deployed function's idle process is kept warm before it is stopped (scale to zero).")
    var functionIdleSeconds = 300.0
    @Flag(help: "Let anyone create a user (role user) with POST /v1/auth/signup; off by default.") var allowSignup = false
    @Option(help: ArgumentHelp("For `make bench`: also serve a bare Hummingbird route POST /noop on this port and register function bench-noop.", visibility: .hidden))
    var benchPort: Int?
    @Flag(help: ArgumentHelp("For `make bench`: triggers wait for their poll instead of being woken by writes (the before figure).", visibility: .hidden))
    var pollTriggersOnly = false

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535.") }
        guard maxBodyMib > 0 else { throw ValidationError("--max-body-mib must be positive.") }
        guard recordRetentionDays >= 0 else { throw ValidationError("--record-retention-days must be 0 (keep forever) or positive.") }
        guard rateLimit >= 0 else { throw ValidationError("--rate-limit must be 0 (off) or positive.") }
        guard maxEventStreamsPerUser >= 1 else { throw ValidationError("--max-event-streams-per-user must be at least 1.") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical.") }
        _ = try mailConfiguration()
        guard ["json", "human"].contains(logFormat) else { throw ValidationError("--log-format must be json or human.") }
        _ = try enabledApps()
        if let s3Port, !(1...65535).contains(s3Port) { throw ValidationError("--s3-port must be between 1 and 65535.") }
        if (s3TLSCert == nil) != (s3TLSKey == nil) { throw ValidationError("--s3-tls-cert and --s3-tls-key go together.") }
        if s3Port == nil, s3TLSCert != nil || s3Domain != nil { throw ValidationError("--s3-tls-cert and --s3-domain need --s3-port.") }
        if s3Port != nil, !ServeRole.effective(role).contains(.gateway) {
            throw ValidationError("--s3-port needs the gateway role: a worker serves only /health and /metrics.")
        }
    }

    /// The SMTP settings of --smtp-url and --smtp-from, or nil when mail is off.
    private func mailConfiguration() throws -> SMTPConfiguration? {
        guard let smtpUrl else {
            if smtpFrom != nil { throw ValidationError("--smtp-from needs --smtp-url (the mail server).") }
            return nil
        }
        do {
            return try SMTPConfiguration.parse(url: smtpUrl, from: smtpFrom ?? "aerie@localhost")
        } catch let error as AerieError {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let human = logFormat == "human"
        LoggingSystem.bootstrap { label -> any LogHandler in
            if human {
                var handler = HumanLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        var metricsFactory = PrometheusMetricsFactory(registry: registry)
        metricsFactory.valueHistogramBuckets.merge(ImagineMetrics.valueBuckets) { $1 }
        metricsFactory.durationHistogramBuckets.merge(ImagineMetrics.durationBuckets) { $1 }
        MetricsSystem.bootstrap(metricsFactory)
        let logger = Logger(label: "aerie")

        let storage = try await deployment.open(data: data, logger: logger)
        let primitives = storage.primitives
        var background: [Task<Void, Never>] = []
        if let postgres = storage.postgres {
            // Other nodes' appends wake this node's trigger dispatchers at once, as appends made here do.
            background.append(postgres.database.relayAnnouncements(to: primitives.signals))
            background.append(Self.sweepOrphanBodies(postgres.objects, logger: logger))
        }
        defer {
            background.forEach { $0.cancel() }
            storage.postgres?.close()
        }
        // Triggers of a newly enabled function start at the beginning of their topic: nothing uploaded before
        // the runtime first positioned its consumer groups can be skipped; idempotency keys prevent repeats.
        let roles = ServeRole.effective(role)
        var runtimeConfiguration = RuntimeConfiguration(triggerStartPosition: .earliest)
        runtimeConfiguration.wakeTriggers = !pollTriggersOnly
        runtimeConfiguration.runsWorkers = roles.contains(.worker)
        let runtime = FunctionRuntime(primitives: primitives, configuration: runtimeConfiguration, logger: Logger(label: "aerie.functions"))
        let apps = try enabledApps()
        for app in apps {
            try await app.setUp(primitives: primitives, runtime: runtime, logger: Logger(label: "aerie.apps.\(type(of: app).name)"))
        }

        let expiry = ExpiryService(
            tables: primitives.tables, runtime: runtime,
            configuration: .init(recordRetention: recordRetentionDays > 0 ? .seconds(recordRetentionDays * 86_400) : nil),
            logger: Logger(label: "aerie.expiry"))
        // Deployed functions (issue 18): stored packages run as child processes on the Lambda Runtime API.
        let shownHost = host == "0.0.0.0" ? "127.0.0.1" : host
        let runtimes = RuntimeManager(
            configuration: .init(dataDirectory: data.directory, gatewayURL: "http://\(shownHost):\(port)",
                                 idleTimeout: .milliseconds(Int64(max(0.1, functionIdleSeconds) * 1000))),
            runtime: runtime, logger: Logger(label: "aerie.runtimes"))
        try await runtimes.registerStored()
        // Every node says it is there, so the console on any node lists the whole deployment.
        let heartbeat = NodeHeartbeat(tables: primitives.tables, runtime: runtime, roles: roles.map(\.rawValue).sorted(),
                                      address: "http://\(shownHost):\(port)", logger: Logger(label: "aerie.nodes"))
        var services: [any Service] = [runtime, expiry, runtimes, heartbeat]
        if let benchPort {
            try runtime.register(BenchNoop())
            services.append(BenchNoop.bareApplication(host: host, port: benchPort))
        }

        let shown = host == "0.0.0.0" ? "127.0.0.1" : host
        if roles.contains(.gateway) {
            try await addGateway(to: &services, primitives: primitives, authChanges: storage.authChanges, runtime: runtime,
                                 runtimes: runtimes, apps: apps, registry: registry, logger: logger)
        } else {
            services.append(WorkerStatus.application(host: host, port: port, registry: registry))
            logger.notice("Aerie worker is running", metadata: ["health": "http://\(shown):\(port)/health", "storage": "\(storage.description)"])
            StandardError.write("\nAerie worker is running (health: http://\(shown):\(port)/health, \(storage.description))\n\n")
        }
        let serviceGroup = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await serviceGroup.run()
    }

    /// Removes, every hour, object bodies that no object names and that are older than an hour (left by a node that
    /// crashed between writing a body and committing its metadata). Every node runs it: a body is removed once.
    private static func sweepOrphanBodies(_ objects: PostgresObjectStore, logger: Logger) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                do {
                    let removed = try await objects.sweepOrphans(olderThan: Date().addingTimeInterval(-3600))
                    if removed > 0 { logger.notice("Removed orphan object bodies", metadata: ["count": "\(removed)"]) }
                } catch {
                    logger.warning("Sweeping orphan object bodies failed; trying again in an hour", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }

    /// The gateway role: the HTTP API, pages and console on --port, and the S3 API on --s3-port when given.
    private func addGateway(to services: inout [any Service], primitives: Primitives, authChanges: any AuthChangeCounter,
                            runtime: FunctionRuntime, runtimes: RuntimeManager,
                            apps: [any AerieApp], registry: PrometheusCollectorRegistry, logger: Logger) async throws {
        let adminPassword = environmentSetting("AERIE_ADMIN_PASSWORD")
        var gatewayConfiguration = GatewayConfiguration(
            maxBodySize: Int64(maxBodyMib) * 1024 * 1024,
            corsOrigins: corsOrigins,
            rateLimit: rateLimit > 0 ? .init(burst: max(10, Int(rateLimit * 2)), perSecond: rateLimit) : nil,
            dataDirectory: data.directory,
            adminPassword: adminPassword
        )
        gatewayConfiguration.allowSignup = allowSignup
        gatewayConfiguration.authChanges = authChanges
        gatewayConfiguration.maxEventStreamsPerUser = maxEventStreamsPerUser
        let gateway = try await AerieGateway.build(primitives: primitives, runtime: runtime, configuration: gatewayConfiguration,
                                                   registry: registry, apps: apps, extensions: [RuntimeRoutes(manager: runtimes)], logger: logger)
        let app = gateway.makeApplication(configuration: .init(address: .hostname(host, port: port), serverName: "aerie"))
        services.append(app)
        if let s3Port {
            let tls = try s3TLSCert.map { cert in try S3Server.tlsConfiguration(certificateFile: cert, keyFile: s3TLSKey ?? "") }
            let s3 = S3Server(objects: primitives.objects, auth: gateway.auth, tables: primitives.tables,
                              configuration: S3Configuration(region: s3Region, domain: s3Domain), logger: Logger(label: "aerie.s3"))
            services.append(try s3.makeApplication(host: host, port: s3Port, tls: tls))
        }
        let shown = host == "0.0.0.0" ? "127.0.0.1" : host
        logger.notice("Aerie is running", metadata: [
            "url": "http://\(shown):\(port)", "console": "http://\(shown):\(port)/console", "data": "\(data.directory.path)",
        ])
        StandardError.write("\nAerie is running at http://\(shown):\(port)  (console: http://\(shown):\(port)/console, data: \(data.directory.path))\n\n")
        if let s3Port {
            let scheme = s3TLSCert == nil ? "http" : "https"
            logger.notice("S3 API is running", metadata: ["url": "\(scheme)://\(shown):\(s3Port)"])
            StandardError.write("S3 API at \(scheme)://\(shown):\(s3Port)  (credentials: aerie s3 credentials create)\n\n")
        }
    }

    private func enabledApps() throws -> [any AerieApp] {
        let names = apps.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        if names == ["none"] { return [] }
        return try names.map { name -> any AerieApp in
            switch name {
            case QuickstartApp.name: return QuickstartApp()
            case PipelineApp.name: return PipelineApp(limits: PipelineLimits(maxDatasetBytes: Int64(max(1, pipelineMaxMib)) << 20))
            case ImagineApp.name:
                do {
                    return ImagineApp(configuration: try ImagineConfiguration.fromEnvironment(ProcessInfo.processInfo.environment),
                                      dataDirectory: data.directory)
                } catch let error as AerieError {
                    throw ValidationError(error.message)
                }
            case GalleryApp.name:
                do {
                    return GalleryApp(configuration: try GalleryConfiguration.fromEnvironment(ProcessInfo.processInfo.environment),
                                      dataDirectory: data.directory)
                } catch let error as AerieError {
                    throw ValidationError(error.message)
                }
            case FacesApp.name:
                do {
                    var configuration = try FacesConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
                    configuration.smtp = try mailConfiguration()
                    return FacesApp(configuration: configuration, dataDirectory: data.directory)
                } catch let error as AerieError {
                    throw ValidationError(error.message)
                }
            case LabApp.name: return LabApp()
            default: throw ValidationError("--apps: unknown app \"\(name)\"; available: quickstart, pipeline, imagine, gallery, faces, lab.")
            }
        }
    }
}

/// A function that does nothing, and a bare Hummingbird application with one route that does nothing either:
/// `make bench` compares the two to measure what the gateway and the runtime add to a call.
struct BenchNoop: Function {
    static let name = "bench-noop"

    func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue {
        .object([:])
    }

    static func bareApplication(host: String, port: Int) -> some Service {
        let router = Router()
        router.post("/noop") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        router.get("/noop") { _, _ in "ok" }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "bare"))
    }
}
