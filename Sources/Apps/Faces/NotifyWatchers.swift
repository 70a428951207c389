import AerieAuth
import AerieCore
import AerieFunctions
import AerieMail
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Function `faces-notify`, fed by queue `faces-notify`: sends one notification of a recognized, watched person, by
/// email (SMTP) or webhook (a JSON body signed with HMAC-SHA256). A failure (mail server down, webhook not 2xx)
/// fails the attempt, and the queue delivers it again with exponential backoff, then keeps it in its dead-letter
/// queue: nothing is lost while a receiver is away.
struct NotifyWatchers: Function {
    static let name = "faces-notify"

    let service: FacesService
    var configuration: FunctionConfiguration

    init(service: FacesService) {
        self.service = service
        configuration = FunctionConfiguration(concurrency: 4, timeout: .seconds(60), retries: 0,
                                              description: "Emails or calls the webhook of a Faces watch when its person is recognized (queue faces-notify).",
                                              adminOnly: true)
    }

    struct Output: Encodable, Sendable {
        var sent: String
        var to: String?
        var status: Int?
    }

    func handle(_ input: FaceNotification, state: Void, context: InvocationContext) async throws -> Output {
        guard let watch = try await service.watch(owner: input.owner, id: input.watch) else {
            await context.log("watch \(input.watch) was deleted; nothing sent")
            return Output(sent: "skipped")
        }
        if let email = watch.email {
            guard let smtp = service.configuration.smtp else {
                throw AerieError(.unavailable, "This server has no mail server configured (--smtp-url); the email to \(email) waits in the queue.")
            }
            let message = Self.email(input, to: email, from: smtp.from)
            let reply = try await SMTPClient(configuration: smtp).send(message)
            await context.log("emailed \(email) through \(smtp.description): \(reply.code) \(reply.text)")
            return Output(sent: "email", to: email, status: reply.code)
        }
        guard let url = watch.webhookURL, let secret = watch.secret else {
            throw AerieError.invalid("Watch \(watch.id) has neither an email nor a webhook.")
        }
        let status = try await Self.callWebhook(url: url, secret: secret, notification: input, deliveryID: "\(input.watch):\(input.photo)")
        await context.log("webhook \(url) answered \(status)")
        return Output(sent: "webhook", to: url, status: status)
    }

    static func email(_ notification: FaceNotification, to address: String, from: String) -> MailMessage {
        MailMessage(from: from, to: [address], subject: "Faces: \(notification.personName) was recognized", body: """
            \(notification.personName) was recognized in a photo at \(RFC3339.string(from: notification.recognizedAt)) \
            (distance \(String(format: "%.3f", notification.distance)); below the threshold is a match).

            Photo: \(notification.photo)
            Face: \(notification.box.width)×\(notification.box.height) px at (\(notification.box.x), \(notification.box.y))

            You get this email because of a watch on \(notification.personName) in Aerie Faces; delete the watch (\(notification.watch)) to stop it.
            """, headers: ["X-Aerie-Watch": notification.watch, "X-Aerie-Photo": notification.photo])
    }

    /// The JSON body a webhook receives.
    static func webhookBody(_ notification: FaceNotification) -> Data {
        JSONValue.object([
            "event": "faces.recognized",
            "watch": .string(notification.watch),
            "person": ["id": .string(notification.personId), "name": .string(notification.personName)],
            "photo": .string(notification.photo),
            "distance": .number(notification.distance),
            "box": FacesJSON.box(notification.box),
            "recognized_at": .string(RFC3339.string(from: notification.recognizedAt)),
        ]).encoded()
    }

    /// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the watch's secret: the receiver recomputes it
    /// and may refuse old timestamps (replays).
    static func signature(secret: String, timestamp: Int, body: Data) -> String {
        let message = Data("\(timestamp).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(timestamp),v1=\(Secrets.hex(mac))"
    }

    static func callWebhook(url: String, secret: String, notification: FaceNotification, deliveryID: String) async throws -> Int {
        let body = webhookBody(notification)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "aerie-faces")
        request.headers.add(name: "X-Aerie-Event", value: "faces.recognized")
        request.headers.add(name: "X-Aerie-Delivery", value: deliveryID)
        request.headers.add(name: "X-Aerie-Signature", value: signature(secret: secret, timestamp: Int(Date().timeIntervalSince1970), body: body))
        request.body = .bytes(ByteBuffer(data: body))
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        } catch {
            throw AerieError(.unavailable, "The webhook \(url) could not be reached: \(error); it is tried again later.")
        }
        _ = try? await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw AerieError(.unavailable, "The webhook \(url) answered \(response.status.code); it is tried again later.")
        }
        return Int(response.status.code)
    }
}

/// Function `faces-sweep`, hourly: removes the crops of unknown faces whose rows expired.
struct SweepSightings: Function {
    static let name = "faces-sweep"

    let service: FacesService
    var configuration: FunctionConfiguration {
        FunctionConfiguration(concurrency: 1, timeout: .seconds(600), retries: 0,
                              description: "Removes the face crops of unknown faces kept past AERIE_FACES_RETENTION_HOURS.", adminOnly: true)
    }

    func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue {
        let removed = try await service.sweepExpiredCrops()
        await context.log("removed \(removed) expired crops")
        return ["removed": .number(Double(removed))]
    }
}
