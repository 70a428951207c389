import AerieCore
import AerieFunctions
import Hummingbird
import NIOCore

/// `GET /health`, `GET /metrics` and `GET /v1/nodes`. (`GET /openapi.json` is added by the gateway once every route is known.)
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
            GatewayRoute(.get, "/v1/nodes", summary: "The deployment's nodes: roles, address, load and last heartbeat (every 5 s)",
                         tag: "system", access: .admin, response: .json("NodeList")) { [primitives] _, _ in
                try Response.json(ListBody(items: try await NodeHeartbeat.nodes(tables: primitives.tables), nextCursor: nil))
            },
        ]
    }
}
