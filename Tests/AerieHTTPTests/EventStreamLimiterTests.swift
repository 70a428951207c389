import AerieAuth
import Testing

@testable import AerieHTTP

@Suite("Event streams per user")
struct EventStreamLimiterTests {
    @Test("a user's streams past the limit are refused with 429; leases give their place back once, also when freed")
    func leases() throws {
        let limiter = EventStreamLimiter(maxPerUser: 2)
        let ann = Identity(username: "ann", role: .user, credential: .token)
        let bob = Identity(username: "bob", role: .user, credential: .token)
        let first = try limiter.open(for: ann)
        var second: EventStreamLease? = try limiter.open(for: ann)
        #expect(throws: HTTPProblem.self) { try limiter.open(for: ann) }
        _ = try limiter.open(for: bob)
        first.release()
        first.release()
        #expect(limiter.openStreams(of: "ann") == 1)
        second = nil  // a response body that never ran frees its lease
        #expect(second == nil && limiter.openStreams(of: "ann") == 0)
        _ = try limiter.open(for: ann)
    }
}
