import AerieCore
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import AerieMail

@Suite("SMTP configuration")
struct SMTPConfigurationTests {
    @Test("smtp:// URLs give host, port, credentials and STARTTLS when offered")
    func parsesURLs() throws {
        let plain = try SMTPConfiguration.parse(url: "smtp://ada:s%40cret@mail.example.com:2525", from: "aerie@example.com")
        #expect(plain.host == "mail.example.com")
        #expect(plain.port == 2525)
        #expect(plain.username == "ada")
        #expect(plain.password == "s@cret")
        #expect(plain.security == .opportunistic)
        let implicit = try SMTPConfiguration.parse(url: "smtps://mail.example.com", from: "aerie@example.com")
        #expect(implicit.port == 465)
        #expect(implicit.security == .implicit)
        let required = try SMTPConfiguration.parse(url: "smtp://127.0.0.1:1025?tls=starttls&timeout=5", from: "a@localhost")
        #expect(required.security == .starttls)
        #expect(required.replyTimeout == 5)
        #expect(try SMTPConfiguration.parse(url: "smtp://localhost:25?tls=none", from: "a@localhost").security == SMTPConfiguration.Security.none)
    }

    @Test("malformed URLs, unknown options, bad senders and missing CA files are refused with the option named")
    func refusesBadSettings() {
        for (url, from) in [("http://mail.example.com", "a@example.com"), ("smtp://", "a@example.com"),
                            ("smtp://host?color=blue", "a@example.com"), ("smtps://host?tls=none", "a@example.com"),
                            ("smtp://host?ca_file=/nonexistent/ca.pem", "a@example.com"), ("smtp://host", "not an address")] {
            #expect(throws: AerieError.self, "\(url) from \(from)") { try SMTPConfiguration.parse(url: url, from: from) }
        }
    }

    @Test("the password never appears in redacted URLs or descriptions")
    func redactsPasswords() throws {
        let url = "smtp://ada:hunter2@mail.example.com:587"
        #expect(!SMTPConfiguration.redacted(url).contains("hunter2"))
        #expect(!(try SMTPConfiguration.parse(url: url, from: "a@example.com")).description.contains("hunter2"))
    }

    @Test("addresses that could inject SMTP commands or headers are not addresses")
    func checksAddresses() {
        #expect(MailAddress.isValid("ada@example.com"))
        #expect(MailAddress.isValid("watch+faces@localhost"))
        for bad in ["", "ada", "@example.com", "ada@", "ada@example", "a b@example.com", "ada@example.com>\r\nRCPT TO:<x@y.z",
                    "<ada@example.com>", "ada@@example.com", "ada@.example.com"] {
            #expect(!MailAddress.isValid(bad), "\(bad)")
        }
    }
}

@Suite("Mail messages")
struct MailMessageTests {
    @Test("an ASCII message has CRLF lines, 7bit text and dot-stuffed lines")
    func rendersASCII() {
        let message = MailMessage(from: "aerie@example.com", to: ["ada@example.com"], subject: "Faces: Ada was recognized",
                                  body: "Line one\n.hidden dot line\nLine three", headers: ["X-Aerie-Watch": "w1\r\nBcc: evil@example.com"])
        let text = message.rendered(date: Date(timeIntervalSince1970: 0), messageID: "id@aerie")
        #expect(text.contains("Subject: Faces: Ada was recognized\r\n"))
        #expect(text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        #expect(text.contains("\r\n..hidden dot line\r\n"))
        #expect(text.contains("Content-Transfer-Encoding: 7bit"))
        // A header value cannot start a new header.
        #expect(!text.contains("\r\nBcc:"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test("non-ASCII subjects are encoded words and non-ASCII bodies base64")
    func rendersUnicode() throws {
        let message = MailMessage(from: "a@example.com", to: ["b@example.com"], subject: "Zoë wurde erkannt", body: "Grüße")
        let text = message.rendered(messageID: "x@y")
        #expect(text.contains("Subject: =?UTF-8?B?\(Data("Zoë wurde erkannt".utf8).base64EncodedString())?="))
        let body = try #require(text.components(separatedBy: "\r\n\r\n").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(String(data: Data(base64Encoded: body) ?? Data(), encoding: .utf8) == "Grüße")
    }
}

/// The client against a scripted SMTP server on loopback (NIO): the conversation's commands in order, multi-line
/// replies, and the errors when the server refuses or goes quiet. The real-server test (aiosmtpd, STARTTLS, AUTH)
/// is e2e/test_faces.py.
@Suite("SMTP client")
struct SMTPClientTests {
    @Test("a message goes through EHLO, MAIL, RCPT and DATA; multi-line replies are read whole")
    func sendsAMessage() async throws {
        let server = try await ScriptedSMTPServer.start()
        defer { server.stop() }
        let client = SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: server.port, security: .none, from: "aerie@example.com"))
        let reply = try await client.send(MailMessage(from: "aerie@example.com", to: ["ada@example.com"], subject: "Hi", body: "Hello\n.dot"))
        #expect(reply.code == 250)
        let commands = server.commands
        #expect(commands.first?.hasPrefix("EHLO ") == true)
        #expect(commands.contains("MAIL FROM:<aerie@example.com>"))
        #expect(commands.contains("RCPT TO:<ada@example.com>"))
        #expect(commands.contains("DATA"))
        #expect(server.data.contains("\r\n..dot\r\n"))
        #expect(commands.last == "QUIT")
    }

    @Test("a refused recipient fails the send with the server's reply; credentials are never sent without TLS")
    func reportsRefusals() async throws {
        let server = try await ScriptedSMTPServer.start(refuseRecipients: true)
        defer { server.stop() }
        let client = SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: server.port, security: .none, from: "aerie@example.com"))
        await #expect(throws: AerieError.self) {
            try await client.send(MailMessage(from: "aerie@example.com", to: ["ada@example.com"], subject: "Hi", body: "Hello"))
        }
        let plain = SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: server.port, username: "ada", password: "hunter2",
                                                                security: .opportunistic, from: "aerie@example.com"))
        let error = await #expect(throws: AerieError.self) {
            try await plain.send(MailMessage(from: "aerie@example.com", to: ["ada@example.com"], subject: "Hi", body: "Hello"))
        }
        #expect(error?.message.contains("plain text") == true)
        #expect(!server.commands.contains { $0.hasPrefix("AUTH") })
    }

    @Test("a server that stops answering fails the send after the timeout, and a closed port fails at once")
    func failsOnSilenceAndClosedPorts() async throws {
        let server = try await ScriptedSMTPServer.start(silent: true)
        defer { server.stop() }
        let quiet = SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: server.port, security: .none, from: "a@example.com", replyTimeout: 0.3))
        let error = await #expect(throws: AerieError.self) {
            try await quiet.send(MailMessage(from: "a@example.com", to: ["b@example.com"], subject: "x", body: "y"))
        }
        #expect(error?.message.contains("did not answer in time") == true)
        let port = server.port
        server.stop()
        let closed = SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: port, security: .none, from: "a@example.com", replyTimeout: 2))
        await #expect(throws: AerieError.self) {
            try await closed.send(MailMessage(from: "a@example.com", to: ["b@example.com"], subject: "x", body: "y"))
        }
    }
}

/// A loopback server speaking just enough SMTP for the client tests.
final class ScriptedSMTPServer: @unchecked Sendable {
    private let channel: any Channel
    private let log: Log
    let port: Int

    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        private var body = ""
        func command(_ line: String) { lock.withLock { lines.append(line) } }
        func data(_ text: String) { lock.withLock { body += text } }
        var commands: [String] { lock.withLock { lines } }
        var dataText: String { lock.withLock { body } }
    }

    var commands: [String] { log.commands }
    var data: String { log.dataText }

    private init(channel: any Channel, log: Log) {
        self.channel = channel
        self.log = log
        port = channel.localAddress?.port ?? 0
    }

    static func start(refuseRecipients: Bool = false, silent: Bool = false) async throws -> ScriptedSMTPServer {
        let log = Log()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Handler(log: log, refuseRecipients: refuseRecipients, silent: silent))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedSMTPServer(channel: channel, log: log)
    }

    func stop() {
        channel.close(promise: nil)
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let log: Log
        let refuseRecipients: Bool
        let silent: Bool
        var pending = ""
        var inData = false

        init(log: Log, refuseRecipients: Bool, silent: Bool) {
            self.log = log
            self.refuseRecipients = refuseRecipients
            self.silent = silent
        }

        func channelActive(context: ChannelHandlerContext) {
            if !silent { send("220 test ESMTP ready", context) }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            pending += buffer.readString(length: buffer.readableBytes) ?? ""
            while let range = pending.range(of: "\r\n") {
                let line = String(pending[..<range.lowerBound])
                pending.removeSubrange(..<range.upperBound)
                if inData {
                    if line == "." {
                        inData = false
                        send("250 2.0.0 queued as 42", context)
                    } else {
                        log.data(line + "\r\n")
                    }
                    continue
                }
                log.command(line)
                switch line.split(separator: " ").first.map(String.init) ?? "" {
                case "EHLO": send("250-test greets you\r\n250-8BITMIME\r\n250 SIZE 1000000", context)
                case "MAIL": send("250 OK", context)
                case "RCPT": send(refuseRecipients ? "550 5.1.1 no such user" : "250 OK", context)
                case "DATA":
                    inData = true
                    send("354 go ahead", context)
                case "QUIT":
                    send("221 bye", context)
                    context.close(promise: nil)
                default: send("502 not implemented", context)
                }
            }
        }

        private func send(_ text: String, _ context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
        }
    }
}
