import AerieAuth
import Foundation

/// Everything the gateway needs to know besides the primitives and the function runtime.
///
/// Values come from the `aerie serve` command line and environment; nothing in the gateway reads the
/// environment itself.
public struct GatewayConfiguration: Sendable {
    /// Token-bucket limits per caller (per API key, user, or client address for anonymous calls).
    public struct RateLimit: Sendable, Hashable {
        /// Requests a caller may make in a burst.
        public var burst: Int
        /// Requests per second the bucket refills at.
        public var perSecond: Double
        public init(burst: Int = 100, perSecond: Double = 50) {
            self.burst = burst
            self.perSecond = perSecond
        }
    }

    /// Settings of the page session cookie.
    public struct Cookies: Sendable, Hashable {
        /// Name of the HttpOnly session cookie.
        public var sessionName: String
        /// Name of the readable CSRF cookie (double-submit token).
        public var csrfName: String
        /// Send the cookies only over HTTPS.
        public var secure: Bool
        /// How long a page session lasts.
        public var lifetime: Duration
        public init(sessionName: String = "aerie_session", csrfName: String = "aerie_csrf", secure: Bool = false, lifetime: Duration = .seconds(12 * 3600)) {
            self.sessionName = sessionName
            self.csrfName = csrfName
            self.secure = secure
            self.lifetime = lifetime
        }
    }

    /// Largest request body accepted, in bytes (object uploads included).
    public var maxBodySize: Int64
    /// Largest JSON body accepted, in bytes.
    public var maxJSONBodySize: Int
    /// Origins allowed to call the API from a browser (`https://app.example.com`); `*` allows any.
    public var corsOrigins: [String]
    /// Per-caller rate limit; nil disables rate limiting.
    public var rateLimit: RateLimit?
    /// How long a bearer token from `POST /v1/auth/login` is valid.
    public var tokenLifetime: Duration
    /// The data directory: the generated admin password is written to `<dataDirectory>/admin-password`.
    /// Nil (tests) keeps nothing on disk.
    public var dataDirectory: URL?
    /// The counter every process of the deployment moves when a credential ends; nil: a file in `dataDirectory`
    /// (or, without one, this process alone).
    public var authChanges: (any AuthChangeCounter)?
    /// The first admin's password (from `AERIE_ADMIN_PASSWORD`); nil generates one on first start.
    public var adminPassword: String?
    /// bcrypt cost (log2 rounds, 4…31). Keep it low in tests.
    public var bcryptCost: UInt8
    public var cookies: Cookies
    /// A quiet server-sent event stream gets a `: keep-alive` comment this often.
    public var eventStreamKeepAlive: Duration
    /// Server-sent event streams one user may hold open at once (`aerie serve --max-event-streams-per-user`).
    public var maxEventStreamsPerUser: Int = 32
    /// Whether anyone may create a user (role `user`) with `POST /v1/auth/signup` (`aerie serve --allow-signup`).
    public var allowSignup: Bool = false
    /// Failed sign-ins allowed per user name and per client address before further attempts get 429.
    public var loginThrottle: LoginThrottle.Limits = LoginThrottle.Limits()

    public init(
        maxBodySize: Int64 = 100 * 1024 * 1024,
        maxJSONBodySize: Int = 1024 * 1024,
        corsOrigins: [String] = [],
        rateLimit: RateLimit? = RateLimit(),
        tokenLifetime: Duration = .seconds(12 * 3600),
        dataDirectory: URL? = nil,
        adminPassword: String? = nil,
        bcryptCost: UInt8 = 12,
        cookies: Cookies = Cookies(),
        eventStreamKeepAlive: Duration = .seconds(15)
    ) {
        self.maxBodySize = maxBodySize
        self.maxJSONBodySize = maxJSONBodySize
        self.corsOrigins = corsOrigins
        self.rateLimit = rateLimit
        self.tokenLifetime = tokenLifetime
        self.dataDirectory = dataDirectory
        self.adminPassword = adminPassword
        self.bcryptCost = bcryptCost
        self.cookies = cookies
        self.eventStreamKeepAlive = eventStreamKeepAlive
    }
}
