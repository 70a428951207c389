import AerieCore
import Foundation

/// A five-field cron expression — `minute hour day-of-month month day-of-week`, evaluated in UTC.
///
/// Each field takes `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma-separated list of these.
/// Months and weekdays also accept three-letter English names (`JAN`, `MON`); weekday 0 and 7 are Sunday.
/// As in Vixie cron, when both day-of-month and day-of-week are restricted a day matching either fires.
/// The macros `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly` are accepted.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public let expression: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public var description: String { expression }

    /// Parses an expression; throws `.invalidArgument` naming the bad field.
    public init(_ expression: String) throws {
        self.expression = expression
        let macros = [
            "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
            "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
        ]
        let trimmed = expression.trimmingCharacters(in: .whitespaces)
        let text = macros[trimmed.lowercased()] ?? trimmed
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw AerieError.invalid("Cron expression \"\(expression)\" has \(fields.count) fields; write five: minute hour day-of-month month day-of-week (e.g. \"*/5 * * * *\").", field: "cron")
        }
        let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
        minutes = try CronSchedule.parseField(fields[0], name: "minute", range: 0...59, names: [:])
        hours = try CronSchedule.parseField(fields[1], name: "hour", range: 0...23, names: [:])
        daysOfMonth = try CronSchedule.parseField(fields[2], name: "day-of-month", range: 1...31, names: [:])
        months = try CronSchedule.parseField(fields[3], name: "month", range: 1...12,
                                             names: Dictionary(uniqueKeysWithValues: monthNames.enumerated().map { ($1, $0 + 1) }))
        let weekdays = try CronSchedule.parseField(fields[4], name: "day-of-week", range: 0...7,
                                                   names: Dictionary(uniqueKeysWithValues: dayNames.enumerated().map { ($1, $0) }))
        daysOfWeek = Set(weekdays.map { $0 == 7 ? 0 : $0 })
        dayOfMonthRestricted = !fields[2].hasPrefix("*")
        dayOfWeekRestricted = !fields[4].hasPrefix("*")
    }

    static func parseField(_ field: String, name: String, range: ClosedRange<Int>, names: [String: Int]) throws -> Set<Int> {
        func fail(_ why: String) -> AerieError {
            AerieError.invalid("Cron \(name) field \"\(field)\" is invalid: \(why). Allowed values are \(range.lowerBound)–\(range.upperBound).", field: "cron")
        }
        func value(_ text: Substring) throws -> Int {
            if let number = Int(text) {
                guard range.contains(number) else { throw fail("\(number) is out of range") }
                return number
            }
            if let named = names[text.uppercased()] { return named }
            throw fail("\"\(text)\" is not a number")
        }
        var result = Set<Int>()
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw fail("empty list element") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw fail("more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw fail("step \"\(pieces[1])\" must be a positive number") }
                step = parsed
            }
            let base = pieces[0]
            let low: Int
            let high: Int
            if base == "*" {
                low = range.lowerBound
                high = range.upperBound
            } else if let dash = base.firstIndex(of: "-") {
                low = try value(base[base.startIndex..<dash])
                high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw fail("range \(low)-\(high) is reversed") }
            } else {
                low = try value(base)
                // `5/15` means 5, 20, 35, 50 (from 5 to the end, in steps).
                high = pieces.count == 2 ? range.upperBound : low
            }
            result.formUnion(stride(from: low, through: high, by: step))
        }
        return result
    }

    private static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .gmt
        return calendar
    }

    func matchesDay(_ components: DateComponents) -> Bool {
        guard let day = components.day, let weekday = components.weekday else { return false }
        let domMatch = daysOfMonth.contains(day)
        let dowMatch = daysOfWeek.contains(weekday - 1)
        if dayOfMonthRestricted && dayOfWeekRestricted { return domMatch || dowMatch }
        return domMatch && dowMatch
    }

    /// The first time strictly after `date` (at a whole minute, UTC) the schedule fires, or nil if none within
    /// eight years (an expression like `0 0 30 2 *` never fires).
    public func next(after date: Date) -> Date? {
        let calendar = CronSchedule.calendar
        let startSeconds = (date.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60
        var current = Date(timeIntervalSince1970: startSeconds)
        let limit = date.addingTimeInterval(8 * 366 * 86_400)
        while current <= limit {
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: current)
            guard let year = parts.year, let month = parts.month, let hour = parts.hour, let minute = parts.minute else { return nil }
            if !months.contains(month) {
                guard let next = calendar.date(from: DateComponents(year: month == 12 ? year + 1 : year, month: month == 12 ? 1 : month + 1, day: 1)) else { return nil }
                current = next
                continue
            }
            if !matchesDay(parts) {
                guard let day = parts.day,
                      let startOfDay = calendar.date(from: DateComponents(year: year, month: month, day: day)) else { return nil }
                current = startOfDay.addingTimeInterval(86_400)
                continue
            }
            if !hours.contains(hour) {
                current = current.addingTimeInterval(Double(60 - minute) * 60)
                continue
            }
            if !minutes.contains(minute) {
                current = current.addingTimeInterval(60)
                continue
            }
            return current
        }
        return nil
    }
}
