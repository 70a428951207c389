import AerieCore
@testable import AerieFunctions
import Foundation
import Testing

@Suite struct CronScheduleTests {
    static func date(_ text: String) -> Date {
        RFC3339.date(from: text) ?? .distantPast
    }

    static func next(_ expression: String, after: String) throws -> String? {
        try CronSchedule(expression).next(after: date(after)).map { RFC3339.string(from: $0) }
    }

    @Test func everyMinuteIsTheNextWholeMinute() throws {
        #expect(try Self.next("* * * * *", after: "2026-11-23T14:05:30.000Z") == "2026-11-23T14:06:00.000Z")
        #expect(try Self.next("* * * * *", after: "2026-11-23T14:05:00.000Z") == "2026-11-23T14:06:00.000Z")
    }

    @Test func stepsListsAndRanges() throws {
        #expect(try Self.next("*/15 * * * *", after: "2026-11-23T14:05:00.000Z") == "2026-11-23T14:15:00.000Z")
        #expect(try Self.next("0,30 9-17 * * *", after: "2026-11-23T17:30:00.000Z") == "2026-11-24T09:00:00.000Z")
        #expect(try Self.next("10-50/20 * * * *", after: "2026-11-23T14:31:00.000Z") == "2026-11-23T14:50:00.000Z")
        #expect(try Self.next("5/20 * * * *", after: "2026-11-23T14:26:00.000Z") == "2026-11-23T14:45:00.000Z")
    }

    @Test func daysMonthsAndWeekdays() throws {
        // 2026-11-23 is a Monday.
        #expect(try Self.next("0 0 * * 0", after: "2026-11-23T14:05:00.000Z") == "2026-11-29T00:00:00.000Z")
        #expect(try Self.next("0 0 * * 7", after: "2026-11-23T14:05:00.000Z") == "2026-11-29T00:00:00.000Z")
        #expect(try Self.next("30 6 * * MON-FRI", after: "2026-11-27T07:00:00.000Z") == "2026-11-30T06:30:00.000Z")
        #expect(try Self.next("0 12 1 JAN *", after: "2026-11-23T14:05:00.000Z") == "2027-01-01T12:00:00.000Z")
        #expect(try Self.next("0 0 29 2 *", after: "2026-03-01T00:00:00.000Z") == "2028-02-29T00:00:00.000Z")
        // Both day fields restricted: either matches (the 1st, or a Friday).
        #expect(try Self.next("0 0 1 * 5", after: "2026-11-23T14:05:00.000Z") == "2026-11-27T00:00:00.000Z")
        #expect(try Self.next("@daily", after: "2026-11-23T14:05:00.000Z") == "2026-11-24T00:00:00.000Z")
        #expect(try Self.next("@hourly", after: "2026-11-23T14:05:00.000Z") == "2026-11-23T15:00:00.000Z")
    }

    @Test func impossibleDateNeverFires() throws {
        #expect(try CronSchedule("0 0 30 2 *").next(after: Self.date("2026-01-01T00:00:00Z")) == nil)
    }

    @Test(arguments: ["* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
                      "5-1 * * * *", "a * * * *", "1,,2 * * * *", "1/2/3 * * * *", "* * * * * *"])
    func invalidExpressionsAreRejected(_ expression: String) {
        let error = #expect(throws: AerieError.self) { try CronSchedule(expression) }
        #expect(error?.code == .invalidArgument)
    }
}
