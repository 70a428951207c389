import Foundation
import Testing

@testable import AerieHTTP

@Suite struct HTTPDateTests {
    /// What the previous implementation (a DateFormatter per call) wrote, as the reference.
    static func reference(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    @Test("IMF-fixdate equal to DateFormatter's on fixed and random dates, leap days and the epoch included")
    func matchesDateFormatter() {
        #expect(HTTPDate.string(from: Date(timeIntervalSince1970: 784_111_777)) == "Sun, 06 Nov 1994 08:49:37 GMT")
        // Whole seconds: DateFormatter rounds a fraction near the next second up, while an HTTP date truncates.
        var dates = [0, 951_782_400, 1_709_164_800, 4_102_444_799].map { Date(timeIntervalSince1970: $0) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 { dates.append(Date(timeIntervalSince1970: Double(Int.random(in: 0..<4_102_444_800, using: &generator)))) }
        #expect(HTTPDate.string(from: Date(timeIntervalSince1970: 1_000_000_000.999)) == "Sun, 09 Sep 2001 01:46:40 GMT")
        for date in dates {
            #expect(HTTPDate.string(from: date) == Self.reference(date), "\(date.timeIntervalSince1970)")
        }
    }
}
