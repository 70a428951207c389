import Foundation
import Yams

/// Settings from a file: `aerie serve --config aerie.yaml` (or `$AERIE_CONFIG`).
///
/// The file is YAML (JSON is YAML too): a mapping whose keys are the command's long option names without the dashes,
/// and whose values are what the option takes: a value, a list for a repeatable option (`role`, `cors-origin`), or
/// `true`/`false` for a flag (`allow-signup`).
///
/// ```yaml
/// database: postgres://aerie:secret@db:5432/aerie
/// object-store: s3://aerie-objects/prod
/// host: 0.0.0.0
/// port: 8080
/// role: [gateway]
/// ```
///
/// The command line wins over the environment, which wins over the file: a setting given as an option is taken from
/// the command line, `database` and `object-store` from `$AERIE_DATABASE_URL` and `$AERIE_OBJECT_STORE` when set, and
/// only the rest from the file. The file's settings become command-line options before parsing, so a wrong value is
/// reported as that option's error, checked as if it was typed.
///
/// `aerie users` and `aerie keys` read the storage settings (`data`, `durability`, `database`, `object-store`) from
/// the same file and leave the others, so one file serves the whole deployment.
enum ConfigFile {
    /// The variable naming the file when `--config` is not given.
    static let environmentName = "AERIE_CONFIG"
    /// Settings whose environment variable wins over the file.
    static let environmentSettings = ["database": "AERIE_DATABASE_URL", "object-store": "AERIE_OBJECT_STORE"]
    /// The commands that read the file, and the settings each takes (nil: all of them).
    static let commands: [String: Set<String>?] = [
        "serve": nil,
        "users": ["data", "durability", "database", "object-store"],
        "keys": ["data", "durability", "database", "object-store"],
    ]

    struct Error: Swift.Error, CustomStringConvertible {
        let description: String
    }

    /// `arguments` (without the program name) with the settings of the command's config file added; unchanged for a
    /// command that reads no file, or when no file is named.
    static func expand(_ arguments: [String], environment: [String: String]) throws -> [String] {
        guard let command = arguments.first, let applicable = commands[command] else { return arguments }
        guard let path = configPath(arguments) ?? environment[environmentName].flatMap({ $0.isEmpty ? nil : $0 }) else { return arguments }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Error(description: "cannot read the config file \(path): \((error as NSError).localizedDescription)")
        }
        var added: [String] = []
        for (key, value) in try settings(yaml: text, file: path) {
            guard applicable?.contains(key) ?? true else { continue }
            // The command line wins, then the environment.
            if arguments.contains(where: { $0 == "--" + key || $0.hasPrefix("--\(key)=") }) { continue }
            if let variable = environmentSettings[key], let set = environment[variable], !set.isEmpty { continue }
            if let value {
                added += value.map { "--\(key)=\($0)" }
            } else {
                added.append("--" + key)
            }
        }
        return arguments + added
    }

    /// The file `--config` names among `arguments`.
    static func configPath(_ arguments: [String]) -> String? {
        for (index, argument) in arguments.enumerated() {
            if argument == "--" { return nil }
            if argument.hasPrefix("--config=") { return String(argument.dropFirst("--config=".count)) }
            if argument == "--config", index + 1 < arguments.count { return arguments[index + 1] }
        }
        return nil
    }

    /// The file's settings in its order: each key with its values (one per repetition), or nil values for a flag that
    /// is on. A flag that is off is left out.
    static func settings(yaml text: String, file: String) throws -> [(key: String, values: [String]?)] {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Error(description: "the config file \(file) is not valid YAML: \(error)")
        }
        guard let node else { return [] }
        guard let mapping = node.mapping else {
            throw Error(description: "the config file \(file) must be a mapping of settings (key: value), like `port: 8080`.")
        }
        var settings: [(key: String, values: [String]?)] = []
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string, !key.isEmpty, !key.hasPrefix("-"), key != "config" else {
                throw Error(description: "the config file \(file) has a setting named \(keyNode.string.map { "\"\($0)\"" } ?? "that is not text"): name each setting as its option without the dashes (port, database, object-store…).")
            }
            if let scalar = valueNode.scalar {
                switch valueNode.bool {
                case true?: settings.append((key, nil))
                case false?: continue
                case nil: settings.append((key, [scalar.string]))
                }
            } else if let sequence = valueNode.sequence {
                let values = try sequence.map { element -> String in
                    guard let scalar = element.scalar else {
                        throw Error(description: "the config file \(file): \(key) lists something that is not a value; a list holds values, one per repetition of --\(key).")
                    }
                    return scalar.string
                }
                settings.append((key, values))
            } else {
                throw Error(description: "the config file \(file): \(key) is a mapping; give it a value, or a list of values for a repeatable option.")
            }
        }
        return settings
    }
}
