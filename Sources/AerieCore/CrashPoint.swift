import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fault injection for the crash matrix (`e2e/test_crash_matrix.py`): each durable step calls
/// `CrashPoint.reach(name, detail)` just after it is durable and before anyone hears of it. In a debug build (what
/// `make test` builds) started with `AERIE_CRASH_AT=name` or `AERIE_CRASH_AT=name:detail` (a bucket, table, queue,
/// topic or function), the process writes one line to standard error and kills itself with SIGKILL the first time
/// it reaches that point, so the test can restart it and check what survived. Release builds compile the hook to
/// nothing.
public enum CrashPoint {
    #if DEBUG
    private static let armed: (name: String, detail: String?)? = {
        guard let value = ProcessInfo.processInfo.environment["AERIE_CRASH_AT"], !value.isEmpty else { return nil }
        guard let colon = value.firstIndex(of: ":") else { return (value, nil) }
        return (String(value[..<colon]), String(value[value.index(after: colon)...]))
    }()
    #endif

    @inline(__always)
    public static func reach(_ name: StaticString, _ detail: @autoclosure () -> String? = nil) {
        #if DEBUG
        guard let armed, armed.name == "\(name)" else { return }
        if let wanted = armed.detail, wanted != detail() { return }
        StandardError.write("crash point \(name) reached (\(detail() ?? "-")): killing the process\n")
        kill(getpid(), SIGKILL)
        #endif
    }
}
