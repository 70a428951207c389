import AerieHTTP
import Foundation
import Logging
import Testing

@Suite("Human log format")
struct HumanLogFormatTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func append(_ line: String) { lock.withLock { stored.append(line) } }
        var all: [String] { lock.withLock { stored } }
    }

    @Test("lines follow the seed's | DATE: DD/MM/YYYY | TIME: HH:MM:SS | [ FLOW @ FUNCTION ] format")
    func format() throws {
        let lines = Lines()
        var logger = Logger(label: "aerie.apps.lab") { label in HumanLogHandler(label: label) { lines.append($0) } }
        logger.logLevel = .info
        logger.info("lab app ready", metadata: ["function": "lab-train"])
        Logger(label: "aerie.http") { label in HumanLogHandler(label: label) { lines.append($0) } }
            .warning("request failed", metadata: ["request_id": "r1", "status": "500"])
        logger.debug("hidden")
        let written = lines.all
        #expect(written.count == 2)
        let pattern = #/^\| DATE: \d{2}/\d{2}/\d{4} \| TIME: \d{2}:\d{2}:\d{2} \| \[ (REST|TASK|EVENT) @ [^\]]+ \] [A-Z]+ .+\n$/#
        for line in written { #expect(line.wholeMatch(of: pattern) != nil, "\(line)") }
        #expect(written[0].contains("[ TASK @ format() ] INFO aerie.apps.lab: lab app ready function=lab-train"))
        #expect(written[1].contains("[ REST @ format() ] WARNING aerie.http: request failed request_id=r1 status=500"))
    }
}
