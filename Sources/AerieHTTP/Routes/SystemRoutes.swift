import AerieCore
import Hummingbird
import NIOCore

/// `GET /health` and `GET /metrics`. (`GET /openapi.json` is added by the gateway once every route is known.)
struct SystemRoutes {
    let metrics: GatewayMetrics
    let primitives: Primitives

    var routes: [GatewayRoute] {
        [
            GatewayRoute(.get, "/health", summary: "Liveness check", tag: "system", access: .anyone, response: .json("Health")) { _, _ in
                try Response.json(["status": "ok"])
            },
            GatewayRoute(.get, "/metrics", summary: "Prometheus metrics: requests, latency, invocations, queue depth", tag: "system",
                         access: .anyone, response: .text) { [metrics, primitives] _, _ in
                await metrics.recordQueues(primitives.queues)
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
            },
        ]
    }
}
