import AerieCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A progress line on standard error for long local commands: redrawn in place on a terminal (at most ten times a
/// second), a plain line every few seconds otherwise (a log file, CI).
final class ProgressLine: Sendable {
    private let terminal = isatty(STDERR_FILENO) != 0
    private let lastDrawn = Mutex(ContinuousClock.now - .seconds(60))

    func update(_ text: @autoclosure () -> String) {
        let now = ContinuousClock.now
        let due = lastDrawn.withLock { last in
            guard now - last >= (terminal ? .milliseconds(100) : .seconds(5)) else { return false }
            last = now
            return true
        }
        guard due else { return }
        StandardError.write(terminal ? "\r\u{1B}[K" + text() : text() + "\n")
    }

    /// Ends the line with `text`.
    func finish(_ text: String) {
        StandardError.write(terminal ? "\r\u{1B}[K" + text + "\n" : text + "\n")
    }
}

extension ProgressLine {
    /// A one-line progress bar redrawn in place on stderr (`aerie invoke --follow`).
    static func draw(fraction: Double, message: String) {
        let width = 30
        let filled = Int((min(max(fraction, 0), 1) * Double(width)).rounded())
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let percent = Int((fraction * 100).rounded())
        FileHandle.standardError.write(Data("\r[\(bar)] \(String(format: "%3d", percent))% \(message.prefix(60))\u{1B}[K".utf8))
    }

    static func clear() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    static func finish() {
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
