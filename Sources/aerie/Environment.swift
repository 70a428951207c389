import Foundation

/// The environment variable `name`, with an empty value read as unset (as `AERIE_TOKEN= aerie …` means).
func environmentSetting(_ name: String) -> String? {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}
