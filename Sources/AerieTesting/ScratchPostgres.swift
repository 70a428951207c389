import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL server for tests: Debian's server binaries (`initdb`, `pg_ctl`, `createdb` from the
/// `postgresql` package, which `make test` installs) run a cluster in a temporary directory on a free loopback port,
/// with trust authentication for the user `aerie`. One server per test process (``shared()``), stopped when the process
/// exits; each test makes its own database with ``createDatabase()``.
///
/// PostgreSQL refuses to run as root, so under root the binaries run as the `postgres` account the package creates
/// (through `runuser`), and the cluster's folder is handed to it.
public final class ScratchPostgres: Sendable {
    public let port: Int
    public let directory: URL
    let binaries: URL

    /// Why no server can start here (nil when one can): tests skip with this message.
    public static let unavailableReason: String? = {
        guard binDirectory() != nil else {
            return "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: `make test` installs Debian's postgresql package."
        }
        if geteuid() == 0, getpwnam("postgres") == nil {
            return "Running as root without a `postgres` account to run PostgreSQL as (Debian's postgresql package creates it)."
        }
        return nil
    }()

    /// The highest `/usr/lib/postgresql/<version>/bin` with the server binaries, else the folder of `initdb` on PATH.
    static func binDirectory() -> URL? {
        let fileManager = FileManager.default
        let root = "/usr/lib/postgresql"
        let versions = ((try? fileManager.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(by: >)
        for version in versions where fileManager.isExecutableFile(atPath: "\(root)/\(version)/bin/pg_ctl") {
            return URL(fileURLWithPath: "\(root)/\(version)/bin")
        }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = String(folder)
            if fileManager.isExecutableFile(atPath: path + "/initdb"), fileManager.isExecutableFile(atPath: path + "/pg_ctl") {
                return URL(fileURLWithPath: path).resolvingSymlinksInPath()
            }
        }
        return nil
    }

    private static let started = Mutex<Result<ScratchPostgres, any Error>?>(nil)

    /// The process's server, started on first use.
    public static func shared() throws -> ScratchPostgres {
        try started.withLock { state in
            if let state { return try state.get() }
            let result = Result { try ScratchPostgres.start() }
            state = result
            if case .success(let server) = result {
                ScratchPostgres.stopAtExit = server
                atexit { ScratchPostgres.stopAtExit?.stop() }
            }
            return try result.get()
        }
    }

    nonisolated(unsafe) private static var stopAtExit: ScratchPostgres?

    private init(port: Int, directory: URL, binaries: URL) {
        self.port = port
        self.directory = directory
        self.binaries = binaries
    }

    private static func start() throws -> ScratchPostgres {
        if let reason = unavailableReason { throw ScratchPostgresError(reason) }
        let binaries = binDirectory()!
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-postgres-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if geteuid() == 0 { try run(["/usr/bin/chown", "postgres:postgres", directory.path]) }
        let server = ScratchPostgres(port: try freeLoopbackPort(), directory: directory, binaries: binaries)
        try server.postgres("initdb", ["-D", server.data, "-U", "aerie", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        let options = "-p \(server.port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        try server.postgres("pg_ctl", ["-D", server.data, "-l", directory.path + "/server.log", "-o", options, "-w", "-t", "60", "start"])
        return server
    }

    var data: String { directory.path + "/data" }

    /// A connection URL for the user `aerie` (trust: no password) and `database`.
    public func url(database: String) -> String { "postgres://aerie@127.0.0.1:\(port)/\(database)?sslmode=disable" }

    /// Creates an empty database with a fresh name and returns its URL.
    public func createDatabase() throws -> String {
        let name = "aerie_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try postgres("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "aerie", name])
        return url(database: name)
    }

    /// Stops the server at once (tests keep nothing) and removes its folder.
    public func stop() {
        _ = try? postgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs one of the server binaries, as `postgres` under root.
    private func postgres(_ program: String, _ arguments: [String]) throws {
        let path = binaries.appendingPathComponent(program).path
        if geteuid() == 0 {
            try Self.run(["/usr/sbin/runuser", "-u", "postgres", "--", path] + arguments)
        } else {
            try Self.run([path] + arguments)
        }
    }

    /// Runs `command` to its end (posix_spawn and waitpid: Foundation's `Process` did not notice `runuser … pg_ctl
    /// start` ending). Its output goes to a file, not a pipe: the server that `pg_ctl start` leaves running inherits
    /// the descriptors, and a pipe would never reach its end.
    private static func run(_ command: [String]) throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-postgres-command-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var arguments = command.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, command[0], &actions, nil, &arguments, environ)
        guard spawned == 0 else { throw ScratchPostgresError("could not start \(command[0]): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let text = (try? Data(contentsOf: log)) ?? Data()
            throw ScratchPostgresError("\(command.joined(separator: " ")) ended with status \(status):\n"
                + String(decoding: text.suffix(4000), as: UTF8.self))
        }
    }

    /// A loopback port nothing listens on now (the kernel's pick for port 0).
    /// A loopback TCP port nobody listens on now (for servers a test starts).
    public static func freeLoopbackPort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ScratchPostgresError("socket() failed: errno \(errno)") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(socket, raw, length) == 0 else { return -1 }
                return getsockname(socket, raw, &length)
            }
        }
        guard bound == 0 else { throw ScratchPostgresError("could not bind a loopback port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why the scratch server could not start, with the command's output.
public struct ScratchPostgresError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
