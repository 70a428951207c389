import AerieCore
import Foundation
import Subprocess
import SystemPackage

/// The Python environment Aerie manages for `python3` functions: a virtual environment under
/// `<data>/runtimes/python/venv` with `awslambdaric` (PyPI), built by `aerie runtimes install python`.
///
/// The server looks for it each time it starts a Python process, so an install made while it runs is used at once.
public struct PythonEnvironment: Sendable {
    public let root: URL

    public init(dataDirectory: URL) {
        root = dataDirectory.appendingPathComponent("runtimes/python", isDirectory: true)
    }

    public var venv: URL { root.appendingPathComponent("venv", isDirectory: true) }
    public var python: URL { venv.appendingPathComponent("bin/python3") }
    public var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: python.path) }

    /// Builds the environment with `interpreter -m venv` and installs `awslambdaric` (plus `extraPackages`) with pip,
    /// in a new folder renamed over the old one when done. Returns pip's last lines.
    public func install(interpreter: String = "python3", extraPackages: [String] = []) async throws -> String {
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: root, withIntermediateDirectories: true)
        let staging = root.appendingPathComponent("venv.staging-\(UUID().uuidString)", isDirectory: true)
        defer { try? fileManager.removeItem(at: staging) }
        _ = try await Self.run([interpreter, "-m", "venv", staging.path], what: "Creating the Python environment with \(interpreter) -m venv")
        let pip = staging.appendingPathComponent("bin/python3").path
        let output = try await Self.run([pip, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "awslambdaric"] + extraPackages,
                                        what: "Installing awslambdaric from PyPI")
        // A venv records its own path: build it where it will live by moving the old one aside first.
        let old = root.appendingPathComponent("venv.old-\(UUID().uuidString)")
        if fileManager.fileExists(atPath: venv.path) { try fileManager.moveItem(at: venv, to: old) }
        try fileManager.moveItem(at: staging, to: venv)
        try? fileManager.removeItem(at: old)
        // Rewrite the absolute staging path the scripts carry (bin/pip's shebang, pyvenv.cfg's command line).
        if let scripts = try? fileManager.contentsOfDirectory(atPath: venv.appendingPathComponent("bin").path) {
            for script in scripts {
                let url = venv.appendingPathComponent("bin/\(script)")
                guard let text = try? String(contentsOf: url, encoding: .utf8), text.contains(staging.path) else { continue }
                try? text.replacingOccurrences(of: staging.path, with: venv.path).write(to: url, atomically: true, encoding: .utf8)
            }
        }
        return output
    }

    /// Installs a package's `requirements.txt` into `target` (the version's own folder) with the managed pip.
    /// Throws `.unprocessable` (422) with pip's own words when it fails.
    func installRequirements(_ requirements: URL, into target: URL) async throws {
        guard isInstalled else {
            throw AerieError(.unprocessable, "The Python runtime is not installed; run `aerie runtimes install python` on the server's data directory first.")
        }
        do {
            _ = try await Self.run([python.path, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--target", target.path,
                                    "-r", requirements.path], what: "pip install -r requirements.txt")
        } catch let error as AerieError {
            throw AerieError(.unprocessable, "The package's requirements.txt could not be installed. \(error.message)", field: "requirements.txt")
        }
    }

    /// Runs a command to its end; throws with its last output lines when it fails.
    static func run(_ command: [String], what: String) async throws -> String {
        let executable: Executable = command[0].contains("/") ? .path(FilePath(command[0])) : .name(command[0])
        let result = try await Subprocess.run(executable, arguments: Arguments(Array(command.dropFirst())),
                                              output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        let output = result.standardOutput + result.standardError
        let tail = output.split(separator: "\n").suffix(12).joined(separator: "\n")
        guard case .exited(0) = result.terminationStatus else {
            throw AerieError(.unavailable, "\(what) failed (\(result.terminationStatus)):\n\(tail)")
        }
        return tail
    }
}
