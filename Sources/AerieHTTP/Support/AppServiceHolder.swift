import AerieCore
import Synchronization

/// What an app's `setUp` produced, for the routes the gateway builds after it: the app's service once its models
/// loaded, or the reason it has none (then every route answers 503 with that reason, naming what to install).
public final class AppServiceHolder<Service: Sendable>: Sendable {
    enum State: Sendable {
        case starting
        case unavailable(String)
        case ready(Service)
    }

    /// The app's name as people read it (`Imagine`), for the message while it starts.
    let appName: String
    private let state = Mutex(State.starting)

    public init(appName: String) {
        self.appName = appName
    }

    public func setReady(_ service: Service) {
        state.withLock { $0 = .ready(service) }
    }

    /// The app will not serve: `message` says why and what to do.
    public func setUnavailable(_ message: String) {
        state.withLock { $0 = .unavailable(message) }
    }

    /// The service, or 503 saying why there is none.
    public func service() throws -> Service {
        switch state.withLock({ $0 }) {
        case .ready(let service): return service
        case .unavailable(let message): throw AerieError(.unavailable, message)
        case .starting: throw AerieError(.unavailable, "\(appName) is starting; try again in a moment.")
        }
    }
}
