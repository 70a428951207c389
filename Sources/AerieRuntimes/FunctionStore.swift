import AerieCore
import Crypto
import Foundation

/// One deployed version as stored (`version.json`) and listed.
public struct FunctionVersion: Sendable, Hashable, Codable {
    public var function: String
    public var version: Int
    public var settings: FunctionSettings
    public var createdAt: Date
    /// SHA-256 of the zip, hex.
    public var sha256: String
    public var size: Int
    public var deployedBy: String

    enum CodingKeys: String, CodingKey {
        case function, version, settings, sha256, size
        case createdAt = "created_at"
        case deployedBy = "deployed_by"
    }
}

/// The key a deployed function's processes get (`AERIE_API_KEY`), kept with the function (mode 0600).
struct FunctionKey: Codable, Sendable {
    var id: String
    var secret: String
    var owner: String
}

/// Deployed functions on disk, under `<data>/functions/<name>/`: `versions/<N>/code/` (the unpacked package, never
/// changed after deploy), `versions/<N>/deps/` (its `requirements.txt`, installed at deploy), `versions/<N>/version.json`,
/// `aliases.json` and `key.json`. A version is written under a temporary name and renamed into place, so a crash
/// mid-deploy leaves no half version; versions are immutable, so running processes never see a file change.
struct FunctionStore: Sendable {
    let root: URL

    init(dataDirectory: URL) {
        root = dataDirectory.appendingPathComponent("functions", isDirectory: true)
    }

    func functionDirectory(_ name: String) -> URL { root.appendingPathComponent(name, isDirectory: true) }
    func versionDirectory(_ name: String, _ version: Int) -> URL {
        functionDirectory(name).appendingPathComponent("versions/\(version)", isDirectory: true)
    }

    /// The names of every deployed function.
    func names() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return entries.filter { !$0.hasPrefix(".") && !versions($0).isEmpty }.sorted()
    }

    /// The function's versions, oldest first.
    func versions(_ name: String) -> [FunctionVersion] {
        let directory = functionDirectory(name).appendingPathComponent("versions")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return entries.compactMap(Int.init).sorted().compactMap { number in
            guard let data = try? Data(contentsOf: versionDirectory(name, number).appendingPathComponent("version.json")) else { return nil }
            return try? JSONCoding.decode(FunctionVersion.self, from: data)
        }
    }

    func aliases(_ name: String) -> [String: Int] {
        guard let data = try? Data(contentsOf: functionDirectory(name).appendingPathComponent("aliases.json")) else { return [:] }
        return (try? JSONCoding.decode([String: Int].self, from: data)) ?? [:]
    }

    func setAliases(_ name: String, _ aliases: [String: Int]) throws {
        try write(JSONCoding.encode(aliases), to: functionDirectory(name).appendingPathComponent("aliases.json"))
    }

    func key(_ name: String) -> FunctionKey? {
        guard let data = try? Data(contentsOf: functionDirectory(name).appendingPathComponent("key.json")) else { return nil }
        return try? JSONCoding.decode(FunctionKey.self, from: data)
    }

    func setKey(_ name: String, _ key: FunctionKey) throws {
        let url = functionDirectory(name).appendingPathComponent("key.json")
        try write(JSONCoding.encode(key), to: url)
        try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: Int16(0o600))], ofItemAtPath: url.path)
    }

    /// A fresh staging directory for a version being deployed (inside the function's folder, so the final rename
    /// stays on one file system).
    func makeStaging(_ name: String) throws -> URL {
        let url = functionDirectory(name).appendingPathComponent(".staging-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url.appendingPathComponent("code"), withIntermediateDirectories: true)
        return url
    }

    /// Moves a staged version into place as version `number`; returns it.
    func commit(staging: URL, name: String, number: Int, settings: FunctionSettings, sha256: String, size: Int, deployedBy: String,
                createdAt: Date) throws -> FunctionVersion {
        let versionsDirectory = functionDirectory(name).appendingPathComponent("versions", isDirectory: true)
        try FileManager.default.createDirectory(at: versionsDirectory, withIntermediateDirectories: true)
        let version = FunctionVersion(function: name, version: number, settings: settings, createdAt: createdAt, sha256: sha256, size: size,
                                      deployedBy: deployedBy)
        try write(JSONCoding.encode(version), to: staging.appendingPathComponent("version.json"))
        try FileManager.default.moveItem(at: staging, to: versionDirectory(name, number))
        return version
    }

    /// Where a function stands in the functions log on this node: the last version number given (also to a deploy
    /// that failed here, so every node numbers the same deploy alike) and the last operation applied.
    struct LogState: Codable {
        var lastVersion: Int
        var applied: Int64
    }

    func logState(_ name: String) -> LogState {
        let stored = (try? Data(contentsOf: functionDirectory(name).appendingPathComponent("log.json")))
            .flatMap { try? JSONCoding.decode(LogState.self, from: $0) }
        // Versions deployed before the log existed count too.
        let highest = versions(name).map(\.version).max() ?? 0
        return LogState(lastVersion: max(stored?.lastVersion ?? 0, highest), applied: stored?.applied ?? -1)
    }

    func setLogState(_ name: String, _ state: LogState) throws {
        try write(JSONCoding.encode(state), to: functionDirectory(name).appendingPathComponent("log.json"))
    }

    func delete(_ name: String) throws {
        let directory = functionDirectory(name)
        guard FileManager.default.fileExists(atPath: directory.path) else { return }
        // Rename first so the function disappears at once, then remove.
        let trash = root.appendingPathComponent(".deleted-\(name)-\(UUID().uuidString)")
        try FileManager.default.moveItem(at: directory, to: trash)
        try? FileManager.default.removeItem(at: trash)
    }

    private func write(_ data: Data, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url, options: .atomic)
    }

    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
