import ArgumentParser
import Hummingbird
import NIOCore
import Prometheus
import ServiceLifecycle

/// What an `aerie serve` process does (`--role`, repeatable): everything, the HTTP front, or the queue work.
enum ServeRole: String, CaseIterable, ExpressibleByArgument {
    case all, gateway, worker

    /// The roles a list of `--role` values stands for: `all` (or none given) is both gateway and worker.
    static func effective(_ given: [ServeRole]) -> Set<ServeRole> {
        given.isEmpty || given.contains(.all) ? [.gateway, .worker] : Set(given)
    }
}

/// A worker's own small HTTP server on --port: `GET /health` (for load balancers and probes) and `GET /metrics`
/// (the invocations it ran). A worker serves nothing else: the API, the pages and the S3 API belong to gateways.
enum WorkerStatus {
    static func application(host: String, port: Int, registry: PrometheusCollectorRegistry) -> some Service {
        let router = Router()
        router.get("/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok","role":"worker"}"#)))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: registry.emitToString())))
        }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "aerie-worker"))
    }
}
