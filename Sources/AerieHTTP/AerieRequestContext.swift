import AerieAuth
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// Per-request state: the request id, the authenticated caller, the client address.
///
/// Dependencies never live here; controllers get them through their initialisers.
public struct AerieRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The `X-Request-Id` of this request (incoming when sane, else generated).
    public var requestId: String
    /// The authenticated caller, or nil for an anonymous request.
    public var identity: Identity?
    /// The client's IP address, when the connection has one (not in router tests).
    public let remoteAddress: String?
    /// The connection's event loop (streamed bodies pace themselves by it: `ResponseBody(object:on:)`).
    public let eventLoop: any EventLoop
    /// The CSRF token of the page session the request came with.
    public internal(set) var expectedCSRFToken: String?
    /// Whether `X-CSRF-Token` matched the session's token.
    public internal(set) var csrfHeaderVerified: Bool
    /// Facts inner middleware learn that the outer access log reports (contexts are copied inward, not back out).
    let accessLog = AccessLogFacts()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestId = ""
        self.identity = nil
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
        self.eventLoop = source.channel.eventLoop
        self.expectedCSRFToken = nil
        self.csrfHeaderVerified = false
    }
}

/// What the access log line reports besides the request and response: who the caller turned out to be.
final class AccessLogFacts: Sendable {
    private let user = Mutex<String?>(nil)

    var username: String? {
        get { user.withLock { $0 } }
        set { user.withLock { $0 = newValue } }
    }
}
