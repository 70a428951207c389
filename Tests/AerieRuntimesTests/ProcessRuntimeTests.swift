import AerieAuth
import AerieCore
import AerieTesting
@testable import AerieFunctions
@testable import AerieRuntimes
import Foundation
import Logging
import Testing

/// Deployed functions run for real: a shell `bootstrap` that speaks the Runtime API with curl, through the manager
/// and the functions runtime (records, cold starts, timeouts), on the memory primitives.
@Suite("Out-of-process functions on the Lambda Runtime API", .serialized)
struct ProcessRuntimeTests {
    struct Harness {
        let root: URL
        let runtime: FunctionRuntime
        let manager: RuntimeManager
        let auth: AuthService

        /// A node of its own, or (`sharing`) another node of the same deployment: the same primitives, its own data
        /// directory and runtime.
        init(idle: Duration = .seconds(60), sharing other: Harness? = nil) async throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-rt-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let primitives = other?.runtime.primitives ?? Primitives.memory()
            runtime = FunctionRuntime(primitives: primitives, logger: Logger(label: "test"))
            manager = RuntimeManager(configuration: .init(dataDirectory: root, gatewayURL: "http://127.0.0.1:1", idleTimeout: idle),
                                     runtime: runtime, logger: Logger(label: "test"))
            auth = try await AuthService.open(tables: primitives.tables, options: .init(bcryptCost: 4), logger: Logger(label: "test"))
            if other == nil {
                _ = try await auth.createUser("admin", password: "runtime-tests-password", role: .admin)
            }
            try await manager.registerStored()
        }

        func deploy(_ name: String, env: [String: String] = [:], timeout: Double = 10, concurrency: Int = 2,
                    bootstrap: String = TestZip.shellBootstrap) async throws -> FunctionVersion {
            let zip = try TestZip.make([.file("bootstrap", bootstrap, executable: true)])
            return try await manager.deploy(name: name, zip: zip, settings: FunctionSettings(runtime: .provided, timeout: timeout, concurrency: concurrency, env: env),
                                            deployedBy: "admin", auth: auth)
        }

        func invoke(_ name: String, _ input: String) async throws -> (record: InvocationRecord, output: JSONValue) {
            let (record, output) = try await runtime.invoke(name, input: Data(input.utf8), trigger: .http, owner: "admin")
            return (record, try JSONValue.parse(output))
        }

        func logs(_ id: String) async throws -> [String] {
            await runtime.store.flush()
            return try await runtime.logs(id).compactMap { $0.data["message"]?.stringValue }
        }

        func close() async {
            await manager.stopAll()
            try? FileManager.default.removeItem(at: root)
        }
    }

    @Test func echoesWithTheRuntimeAPIHeadersAndEnvironmentColdThenWarm() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        let version = try await harness.deploy("echo")
        #expect(version.version == 1)
        let first = try await harness.invoke("echo", #"{"n":1}"#)
        #expect(first.output["echo"] == .object(["n": 1]))
        #expect(first.output["id"]?.stringValue == first.record.id)
        #expect(first.output["fn"]?.stringValue == "echo")
        #expect(first.output["key"]?.stringValue == "set")
        let deadline = first.output["deadline"]?.numberValue ?? 0
        let now = Date().timeIntervalSince1970 * 1000
        #expect(deadline > now && deadline < now + 11_000)
        #expect(first.record.coldStart == true)
        let second = try await harness.invoke("echo", #"{"n":2}"#)
        #expect(second.output["echo"] == .object(["n": 2]))
        #expect(second.record.coldStart == false)
        let firstLogs = try await harness.logs(first.record.id)
        #expect(firstLogs.contains("init echo version 1 memory 256"))
        #expect(firstLogs.contains("got \(first.record.id)"))
        #expect(firstLogs.contains("to stderr \(first.record.id)"))
        let secondLogs = try await harness.logs(second.record.id)
        #expect(secondLogs.contains("got \(second.record.id)") && !secondLogs.contains { $0.hasPrefix("init") })
        #expect(await harness.manager.processCount() == 1)
    }

    @Test("A function deployed through one node runs on every node; versions, aliases and deletes hold on all of them")
    func deploysReachEveryNode() async throws {
        let a = try await Harness()
        let b = try await Harness(sharing: a)
        defer { Task { await a.close(); await b.close() } }
        let first = try await a.deploy("shared")
        #expect(first.version == 1)
        try await eventually("node b to install the deploy") { await b.runtime.function("shared") != nil }
        let ran = try await b.invoke("shared", #"{"n":1}"#)
        #expect(ran.output["echo"] == .object(["n": 1]))
        #expect(ran.output["key"]?.stringValue == "set", "node b's process got the function's key from the log")
        #expect(b.manager.store.key("shared")?.id == a.manager.store.key("shared")?.id)

        let second = try await b.deploy("shared", env: ["FLAVOUR": "b"])
        #expect(second.version == 2)
        try await eventually("node a to install version 2") { (try? a.manager.versions("shared").map(\.version)) == [1, 2] }
        #expect(try a.manager.versions("shared").last?.settings.env["FLAVOUR"] == "b")

        try await a.manager.setAlias("shared", alias: "stable", version: 1)
        try await eventually("node b to see the alias") { b.manager.aliases("shared")["stable"] == 1 }
        #expect(try b.manager.resolve("shared", qualifier: "stable").version == 1)

        try await b.manager.delete("shared", auth: b.auth)
        try await eventually("node a to remove it") { await a.runtime.function("shared") == nil && !a.manager.isDeployed("shared") }
        #expect(try await a.runtime.primitives.objects.list(bucket: RuntimeManager.packagesBucket, ListObjectsRequest(prefix: "shared/")).objects.isEmpty)
        // A node that joins later installs what the log holds, numbered alike.
        let third = try await a.deploy("later")
        let c = try await Harness(sharing: a)
        defer { Task { await c.close() } }
        try await eventually("a new node to catch up") { (try? c.manager.versions("later").map(\.version)) == [third.version] }
        #expect(!c.manager.isDeployed("shared"))
    }

    @Test("A line read from the process just after its answer still goes to that invocation's log")
    func aLateLineGoesToTheInvocationItFollows() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        _ = try await harness.deploy("late")
        // The bootstrap prints "late <id>" only after it has posted the response.
        let ran = try await harness.invoke("late", #""late""#)
        try await eventually("the late line in the invocation's log") { try await harness.logs(ran.record.id).contains("late \(ran.record.id)") }
    }

    @Test func aHandlerErrorFailsTheInvocationAndKeepsTheProcessWarm() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        _ = try await harness.deploy("errs")
        _ = try await harness.invoke("errs", #""warm up""#)
        await #expect { try await harness.invoke("errs", #""fail""#) } throws: { error in
            guard let error = error as? FunctionInvocationError else { return false }
            return error.code == .functionFailed && error.error.message.contains("ValueError: asked to fail") && error.record?.coldStart == false
        }
        #expect(try await harness.invoke("errs", #""again""#).record.coldStart == false)
    }

    @Test func aCrashFailsOnlyThatInvocationAndTheNextGetsAFreshProcess() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        _ = try await harness.deploy("crashy")
        await #expect { try await harness.invoke("crashy", #""crash""#) } throws: { error in
            guard let error = error as? FunctionInvocationError else { return false }
            return error.code == .functionFailed && error.error.message.contains("exited")
        }
        let next = try await harness.invoke("crashy", #""fine""#)
        #expect(next.output["echo"]?.stringValue == "fine")
        #expect(next.record.coldStart == true)
    }

    @Test func aCrashIsSeenAtOnceEvenWhenAChildKeepsTheOutputOpen() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        _ = try await harness.deploy("orphaning", timeout: 20)
        let started = ContinuousClock.now
        await #expect { try await harness.invoke("orphaning", #""orphan""#) } throws: { error in
            guard let error = error as? FunctionInvocationError else { return false }
            return error.code == .functionFailed && error.error.message.contains("exited")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(try await harness.invoke("orphaning", #""next""#).record.coldStart == true)
    }

    @Test func anInitErrorFailsTheInvocationWithItsMessage() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        _ = try await harness.deploy("badinit", env: ["INIT_ERROR": "1"])
        await #expect { try await harness.invoke("badinit", #""x""#) } throws: { error in
            guard let error = error as? FunctionInvocationError else { return false }
            return error.code == .functionFailed && error.error.message.contains("failed to initialize") && error.error.message.contains("missing setting")
        }
    }

    /// The pid a bootstrap's child wrote, and whether that process is gone within five seconds.
    static func waitUntilGone(pidFile: URL) async throws -> (pid: Int32, gone: Bool) {
        let pid = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        for _ in 0..<100 {
            if !RuntimeProcess.isRunning(pid) { return (pid, true) }
            try await Task.sleep(for: .milliseconds(50))
        }
        return (pid, false)
    }

    @Test func aTimeoutKillsTheWholeProcessGroup() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        let pidFile = harness.root.appendingPathComponent("child.pid")
        _ = try await harness.deploy("slow", env: ["CHILD_PID_FILE": pidFile.path], timeout: 1)
        await #expect { try await harness.invoke("slow", #""hang""#) } throws: { error in
            (error as? FunctionInvocationError)?.code == .timedOut
        }
        let (pid, gone) = try await Self.waitUntilGone(pidFile: pidFile)
        #expect(gone, "the bootstrap's child \(pid) outlived the timeout")
        #expect(try await harness.invoke("slow", #""after""#).record.coldStart == true)
    }

    @Test(.enabled(if: PIDNamespace.isAvailable, "the kernel refuses PID namespaces here (unshare --pid)"))
    func whatAFunctionStartsDiesWithItEvenOutsideItsProcessGroup() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        let pidFile = harness.root.appendingPathComponent("escaped.pid")
        _ = try await harness.deploy("escaping", env: ["CHILD_PID_FILE": pidFile.path])
        // The bootstrap starts `setsid sleep 300` (a session and process group of its own) and exits.
        await #expect { try await harness.invoke("escaping", #""escape""#) } throws: { error in
            (error as? FunctionInvocationError)?.code == .functionFailed
        }
        let (pid, gone) = try await Self.waitUntilGone(pidFile: pidFile)
        #expect(gone, "the function's own child \(pid) outlived it")
    }

    struct BuiltIn: Function {
        static let name = "built-in"
        func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue { input }
    }

    @Test func aBuiltInFunctionCannotBeDeletedAndAnUnknownOneIsNotFound() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        try harness.runtime.register(BuiltIn())
        await #expect { try await harness.manager.delete("built-in", auth: harness.auth) } throws: { ($0 as? AerieError)?.code == .conflict }
        await #expect { try await harness.manager.delete("nothing-here", auth: harness.auth) } throws: { ($0 as? AerieError)?.code == .notFound }
        #expect(harness.runtime.configuration(of: "built-in") != nil)
    }

    @Test func versionsAliasesAndQualifiedNames() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        _ = try await harness.deploy("multi", env: ["WHICH": "one"])
        let second = try await harness.deploy("multi", bootstrap: TestZip.shellBootstrap.replacingOccurrences(of: "\\\"fn\\\"", with: "\\\"v2\\\":true,\\\"fn\\\""))
        #expect(second.version == 2)
        #expect(try await harness.invoke("multi", #""a""#).output["v2"] == .bool(true))
        #expect(try await harness.invoke("multi:1", #""a""#).output["v2"] == nil)
        try await harness.manager.setAlias("multi", alias: "prod", version: 1)
        #expect(try await harness.invoke("multi:prod", #""a""#).output["v2"] == nil)
        try await harness.manager.setAlias("multi", alias: "prod", version: 2)
        #expect(try await harness.invoke("multi:prod", #""a""#).output["v2"] == .bool(true))
        await #expect { try await harness.invoke("multi:9", #""a""#) } throws: { ($0 as? FunctionInvocationError)?.code == .notFound }
        #expect(await harness.runtime.functions().map(\.name) == ["multi"])
        try await harness.manager.delete("multi", auth: harness.auth)
        await #expect { try await harness.invoke("multi", #""a""#) } throws: { ($0 as? FunctionInvocationError)?.code == .notFound }
    }

    @Test func aDeployDoesNotDisturbAnInvocationRunningOnThePreviousVersion() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        _ = try await harness.deploy("steady")
        let running = Task { try await harness.invoke("steady", #""slow""#) }
        try await Task.sleep(for: .milliseconds(300))
        let second = try await harness.deploy("steady", bootstrap: TestZip.shellBootstrap.replacingOccurrences(of: "\\\"fn\\\"", with: "\\\"v2\\\":true,\\\"fn\\\""))
        #expect(second.version == 2)
        let old = try await running.value
        #expect(old.output["echo"]?.stringValue == "slow" && old.output["v2"] == nil)
        #expect(try await harness.invoke("steady", #""now""#).output["v2"] == .bool(true))
    }

    @Test func aMissingBootstrapOrAnUnsafeZipIsRefused() async throws {
        let harness = try await Harness()
        defer { Task { await harness.close() } }
        await #expect { _ = try await harness.manager.deploy(name: "nobs", zip: try TestZip.make([.file("main.sh", "echo")]),
                                                             settings: FunctionSettings(runtime: .provided), deployedBy: "admin", auth: harness.auth) } throws: {
            ($0 as? AerieError)?.code == .unprocessable
        }
        await #expect { _ = try await harness.manager.deploy(name: "evil", zip: try TestZip.make([.file("bootstrap", "x", executable: true), .file("../x", "y")]),
                                                             settings: FunctionSettings(runtime: .provided), deployedBy: "admin", auth: harness.auth) } throws: {
            ($0 as? AerieError)?.code == .unprocessable
        }
        #expect(!harness.manager.isDeployed("nobs") && !harness.manager.isDeployed("evil"))
    }
}
