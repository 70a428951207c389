import AerieCore
import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// A PostgreSQL deployment database: postgres-nio's connection pool, the migrations every driver registers, and the
/// mapping of driver errors to ``AerieError``. Several nodes may open the same database at the same moment: the
/// migrations run under a transaction-scoped advisory lock, so exactly one node applies each.
public final class PostgresDatabase: Sendable {
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>

    /// A named schema change, applied once per database in registration order.
    public struct Migration: Sendable {
        public var name: String
        public var sql: [String]
        public init(_ name: String, _ sql: [String]) {
            self.name = name
            self.sql = sql
        }
    }

    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]`) and
    /// applies `migrations` that this database has not seen. A server that cannot be reached within `connectWithin`
    /// is `.unavailable` (the pool itself would keep retrying).
    public static func open(url: String, migrations: [Migration], connectWithin: Duration = .seconds(20),
                            logger: Logger = Logger(label: "aerie.postgres")) async throws -> PostgresDatabase {
        let database = PostgresDatabase(configuration: try configuration(url: url), logger: logger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await database.migrate(migrations) }
                group.addTask {
                    try await Task.sleep(for: connectWithin)
                    throw AerieError(.unavailable, "PostgreSQL at \(redacted(url)) did not answer within \(connectWithin). Check the database URL and that the server is up.")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            database.close()
            throw error
        }
        return database
    }

    private init(configuration: PostgresClient.Configuration, logger: Logger) {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        runner = Task { await client.run() }
    }

    /// Closes the pool; queries after this fail.
    public func close() {
        runner.cancel()
    }

    /// Reads `postgres://` URLs as libpq does for the parts Aerie uses; TLS follows `sslmode` (default `prefer`).
    static func configuration(url text: String) throws -> PostgresClient.Configuration {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""),
              let host = url.host, !host.isEmpty, let user = url.user, !user.isEmpty else {
            throw AerieError.invalid("The database URL must look like postgres://USER:PASSWORD@HOST:PORT/DATABASE, not \"\(redacted(text))\".",
                                     field: "database")
        }
        let database = String(url.path.drop(while: { $0 == "/" }))
        let mode = url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default:
            throw AerieError.invalid("sslmode \"\(mode)\" is not one of disable, prefer, require.", field: "database")
        }
        return PostgresClient.Configuration(host: host, port: url.port ?? 5432, username: user, password: url.password,
                                            database: database.isEmpty ? user : database, tls: tls)
    }

    /// The URL with its password replaced, for messages and logs.
    public static func redacted(_ text: String) -> String {
        guard var url = URLComponents(string: text), url.password != nil else { return text }
        url.password = "***"
        return url.string ?? text
    }

    // MARK: Running statements

    /// Runs `body` in one transaction on one pooled connection; driver errors become ``AerieError``s.
    func transaction<Result: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await mapErrors {
            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// Runs `body` on one pooled connection, outside a transaction.
    func connection<Result: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await mapErrors {
            try await client.withConnection { connection in try await body(connection) }
        }
    }

    private func mapErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as AerieError {
            throw error
        } catch let error as PostgresTransactionError {
            if let closure = error.closureError as? AerieError { throw closure }
            throw Self.aerieError(error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error)
        } catch {
            throw Self.aerieError(error)
        }
    }

    static func aerieError(_ error: any Error) -> AerieError {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return AerieError(.unavailable, "PostgreSQL refused a statement: \(message)")
            }
            return AerieError(.unavailable, "PostgreSQL is unreachable or closed the connection (\(error.code)). Check the database URL and that the server is up.")
        }
        return AerieError(.unavailable, "PostgreSQL: \(String(reflecting: error))")
    }

    // MARK: Migrations

    private func migrate(_ migrations: [Migration]) async throws {
        try await transaction { connection in
            // One lock for every node of every deployment on this database: migrations are short and rare.
            try await connection.query("SELECT pg_advisory_xact_lock(7303654361626921)", logger: self.logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS aerie_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: self.logger)
            var applied = Set<String>()
            for try await name in try await connection.query("SELECT name FROM aerie_migrations", logger: self.logger).decode(String.self) {
                applied.insert(name)
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await connection.query("INSERT INTO aerie_migrations (name) VALUES (\(migration.name))", logger: self.logger)
                self.logger.notice("Applied migration \(migration.name)")
            }
        }
    }
}

/// SQL text with numbered parameters (`$1`, `$2`, …) and their values, for statements built piece by piece.
struct SQLStatement {
    var sql = ""
    var binds = PostgresBindings()

    /// Appends `value` as the next parameter and returns its placeholder.
    mutating func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    mutating func bind(_ value: (some PostgresDynamicTypeEncodable)?) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
}
