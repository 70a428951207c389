import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many threads a fit or a batch prediction may use: `nil` (the default everywhere) means
/// all online cores. Work split across threads is combined in a fixed order, so results do not
/// depend on the thread count.
public enum ThreadCount {
    /// Online processors, read once.
    public static let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    /// The thread count to use for a request: all cores for `nil`, else the request (at least 1).
    public static func resolve(_ requested: Int?) -> Int {
        max(1, requested ?? cores)
    }

    /// Checks a user-given thread count.
    public static func validate(_ requested: Int?) throws {
        if let n = requested, n < 1 {
            throw MLError(.invalidParameter, "threads=\(n) must be at least 1 (leave it out to use all \(cores) cores)")
        }
    }

    /// Runs `body(i)` for every `i` in `0..<iterations` on at most `threads` threads; returns
    /// when all are done. One thread runs them in order on the calling thread.
    static func perform(iterations: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
        guard iterations > 0 else { return }
        let workers = min(max(1, threads), iterations)
        if workers == 1 {
            for i in 0..<iterations { body(i) }
        } else if workers == iterations {
            DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
        } else {
            // `workers` tasks, each taking the next index until none is left.
            let next = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let i = next.add(1, ordering: .relaxed).oldValue
                    if i >= iterations { break }
                    body(i)
                }
            }
        }
    }
}
