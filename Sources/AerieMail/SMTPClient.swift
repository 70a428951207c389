import AerieCore
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// One reply of an SMTP server: its three-digit code and the text of each of its lines.
public struct SMTPReply: Sendable, Hashable {
    public var code: Int
    public var lines: [String]
    public var text: String { lines.joined(separator: " ") }
}

/// A small SMTP client on SwiftNIO (no Swift SMTP library is available here): one connection per message, EHLO,
/// STARTTLS or TLS from the start through NIOSSL, AUTH PLAIN or LOGIN, MAIL / RCPT / DATA, QUIT. Every reply is awaited
/// with the configured timeout; a server that stops answering closes the connection and fails the send.
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    let group: any EventLoopGroup

    public init(configuration: SMTPConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
    }

    /// Sends `message`; returns the server's reply to the end of DATA (it usually names the queued message).
    /// Throws `unavailable` when the server cannot be reached, refuses a step or stops answering; the message names
    /// the step and the server's reply.
    @discardableResult
    public func send(_ message: MailMessage) async throws -> SMTPReply {
        for address in [message.from] + message.to where !MailAddress.isValid(address) {
            throw AerieError.invalid("\"\(address)\" is not an email address this client sends to.", field: "email")
        }
        guard !message.to.isEmpty else { throw AerieError.invalid("A message needs at least one recipient.", field: "to") }
        let tls = try makeTLSContext()
        let host = configuration.host
        let serverName = Self.isIPAddress(host) ? nil : host
        let implicit = configuration.security == .implicit
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(Int64(max(1, configuration.replyTimeout))))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if implicit, let tls {
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName))
                        }
                        try channel.pipeline.syncOperations.addHandler(SMTPReplyDecoder())
                    }
                }
                .connect(host: host, port: configuration.port).get()
        } catch {
            throw AerieError(.unavailable, "Could not connect to the mail server \(configuration.description): \(error).")
        }
        let session = try await Session(channel: channel, configuration: configuration)
        do {
            let reply = try await session.deliver(message, tls: tls, serverName: serverName)
            try? await session.quit()
            try? await channel.close()
            return reply
        } catch {
            try? await channel.close()
            throw error
        }
    }

    private func makeTLSContext() throws -> NIOSSLContext? {
        guard configuration.security != .none else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = configuration.caFile {
            tls.trustRoots = .file(caFile)
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw AerieError.invalid("The mail server's CA file \(configuration.caFile ?? "") could not be used: \(error).", field: "smtp-url")
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// One connection's conversation.
    private struct Session {
        let channel: any Channel
        let configuration: SMTPConfiguration
        let decoder: NIOLoopBound<SMTPReplyDecoder>

        init(channel: any Channel, configuration: SMTPConfiguration) async throws {
            self.channel = channel
            self.configuration = configuration
            decoder = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: SMTPReplyDecoder.self), eventLoop: channel.eventLoop)
            }.get()
        }

        func deliver(_ message: MailMessage, tls: NIOSSLContext?, serverName: String?) async throws -> SMTPReply {
            _ = try await expect(220, step: "greeting")
            var extensions = try await hello()
            var secure = configuration.security == .implicit
            if !secure, configuration.security != .none {
                if extensions.contains(where: { $0.uppercased() == "STARTTLS" }), let tls {
                    _ = try await command("STARTTLS", expect: [220], step: "STARTTLS")
                    try await channel.eventLoop.submit {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName), position: .first)
                    }.get()
                    secure = true
                    extensions = try await hello()
                } else if configuration.security == .starttls {
                    throw AerieError(.unavailable, "The mail server \(configuration.description) does not offer STARTTLS, which --smtp-url requires (tls=starttls).")
                }
            }
            if let username = configuration.username {
                guard secure || configuration.security == .none else {
                    throw AerieError(.unavailable, "The mail server \(configuration.description) offers no TLS; Aerie does not send the password in plain text "
                        + "(add ?tls=none to --smtp-url only for a trusted local relay).")
                }
                try await authenticate(username: username, password: configuration.password ?? "", extensions: extensions)
            }
            _ = try await command("MAIL FROM:<\(message.from)>", expect: [250], step: "MAIL FROM")
            for recipient in message.to {
                _ = try await command("RCPT TO:<\(recipient)>", expect: [250, 251], step: "RCPT TO \(recipient)")
            }
            _ = try await command("DATA", expect: [354], step: "DATA")
            let id = "\(UUID().uuidString.lowercased())@\(configuration.clientName)"
            try await write(message.rendered(messageID: id) + ".\r\n")
            return try await expect(250, step: "end of DATA")
        }

        func quit() async throws {
            _ = try await command("QUIT", expect: [221], step: "QUIT")
        }

        /// EHLO; the extensions the server lists (first word of each line after the greeting line), upper-cased
        /// keywords with their parameters.
        private func hello() async throws -> [String] {
            let reply = try await command("EHLO \(configuration.clientName)", expect: [250], step: "EHLO")
            return Array(reply.lines.dropFirst())
        }

        private func authenticate(username: String, password: String, extensions: [String]) async throws {
            let mechanisms = Set(extensions.filter { $0.uppercased().hasPrefix("AUTH") }
                .flatMap { $0.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" }).dropFirst().map(String.init) })
            if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
                let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
                _ = try await command("AUTH PLAIN \(token)", expect: [235], step: "AUTH PLAIN", secret: true)
            } else {
                _ = try await command("AUTH LOGIN", expect: [334], step: "AUTH LOGIN")
                _ = try await command(Data(username.utf8).base64EncodedString(), expect: [334], step: "AUTH LOGIN user name", secret: true)
                _ = try await command(Data(password.utf8).base64EncodedString(), expect: [235], step: "AUTH LOGIN password", secret: true)
            }
        }

        private func command(_ line: String, expect codes: Set<Int>, step: String, secret: Bool = false) async throws -> SMTPReply {
            try await write(line + "\r\n")
            return try await expect(codes, step: step)
        }

        private func write(_ text: String) async throws {
            do {
                try await channel.writeAndFlush(ByteBuffer(string: text))
            } catch {
                throw AerieError(.unavailable, "The connection to the mail server \(configuration.description) was lost: \(error).")
            }
        }

        private func expect(_ code: Int, step: String) async throws -> SMTPReply {
            try await expect([code], step: step)
        }

        private func expect(_ codes: Set<Int>, step: String) async throws -> SMTPReply {
            let decoder = self.decoder
            let channel = self.channel
            let timeout = TimeAmount.milliseconds(Int64(configuration.replyTimeout * 1000))
            let reply: SMTPReply
            do {
                reply = try await channel.eventLoop.flatSubmit {
                    let future = decoder.value.next(on: channel.eventLoop)
                    let timer = channel.eventLoop.scheduleTask(in: timeout) {
                        decoder.value.timedOut = true
                        channel.close(promise: nil)
                    }
                    future.whenComplete { _ in timer.cancel() }
                    return future
                }.get()
            } catch let error as SMTPReplyDecoder.Failure {
                throw AerieError(.unavailable, "The mail server \(configuration.description) \(error.description) (waiting for the reply to \(step)).")
            } catch {
                throw AerieError(.unavailable, "The mail server \(configuration.description) failed during \(step): \(error).")
            }
            guard codes.contains(reply.code) else {
                throw AerieError(.unavailable, "The mail server \(configuration.description) refused \(step): \(reply.code) \(reply.text)")
            }
            return reply
        }
    }
}

/// Splits the server's bytes into lines and lines into replies (`250-…` continues, `250 …` ends one); hands each
/// reply to the oldest waiter, or keeps it until one asks. Runs on the channel's event loop only.
final class SMTPReplyDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    enum Failure: Error, CustomStringConvertible {
        case closed, timedOut, malformed(String), lineTooLong
        var description: String {
            switch self {
            case .closed: "closed the connection"
            case .timedOut: "did not answer in time"
            case .malformed(let line): "sent a line that is not an SMTP reply: \(line.prefix(80))"
            case .lineTooLong: "sent a reply line over 4,096 bytes"
            }
        }
    }

    static let maxLine = 4096
    private var pending = ByteBuffer()
    private var lines: [String] = []
    private var replies: [Result<SMTPReply, Failure>] = []
    private var waiters: [EventLoopPromise<SMTPReply>] = []
    private var failure: Failure?
    var timedOut = false

    func next(on eventLoop: any EventLoop) -> EventLoopFuture<SMTPReply> {
        if !replies.isEmpty {
            return eventLoop.makeCompletedFuture(replies.removeFirst().mapError { $0 as any Error })
        }
        if let failure { return eventLoop.makeFailedFuture(failure) }
        let promise = eventLoop.makePromise(of: SMTPReply.self)
        waiters.append(promise)
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending.writeBuffer(&buffer)
        while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - pending.readerIndex
            guard length <= Self.maxLine, var line = pending.readString(length: length) else {
                fail(.lineTooLong, context: context)
                return
            }
            pending.moveReaderIndex(forwardBy: 1)
            if line.hasSuffix("\r") { line.removeLast() }
            handle(line, context: context)
        }
        if pending.readableBytes > Self.maxLine { fail(.lineTooLong, context: context) }
        pending.discardReadBytes()
    }

    private func handle(_ line: String, context: ChannelHandlerContext) {
        let characters = Array(line)
        guard characters.count >= 3, let code = Int(String(characters[0..<3])), (200...599).contains(code),
              characters.count == 3 || characters[3] == " " || characters[3] == "-" else {
            fail(.malformed(line), context: context)
            return
        }
        lines.append(characters.count > 4 ? String(characters[4...]) : "")
        guard characters.count == 3 || characters[3] == " " else { return }
        let reply = SMTPReply(code: code, lines: lines)
        lines = []
        if waiters.isEmpty {
            replies.append(.success(reply))
        } else {
            waiters.removeFirst().succeed(reply)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(timedOut ? .timedOut : .closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(.closed)
        context.close(promise: nil)
    }

    private func fail(_ failure: Failure, context: ChannelHandlerContext) {
        failAll(failure)
        context.close(promise: nil)
    }

    private func failAll(_ failure: Failure) {
        if self.failure == nil { self.failure = failure }
        let waiting = waiters
        waiters = []
        for waiter in waiting { waiter.fail(failure) }
    }
}
