import AerieCore
import Testing

@Suite struct ObjectNamesTests {
    @Test(arguments: ["abc", "my-bucket", "my.bucket.2", "0ab", String(repeating: "x", count: 63), "1.2.3", "1.2.3.4.5", "10.0.0.a"])
    func validBuckets(_ name: String) throws {
        try ObjectNames.validateBucket(name)
    }

    @Test(arguments: [
        ("", "3 to 63"), ("ab", "3 to 63"), (String(repeating: "x", count: 64), "3 to 63"),
        ("ABC", "character"), ("a_b", "character"), ("a b", "character"), ("caf\u{E9}", "character"),
        ("-ab", "start and end"), ("ab-", "start and end"), (".ab", "start and end"), ("ab.", "start and end"),
        ("a..b", "'..'"), ("192.168.0.1", "IP address"),
    ])
    func invalidBuckets(_ name: String, _ reason: String) {
        #expect {
            try ObjectNames.validateBucket(name)
        } throws: { error in
            guard let error = error as? AerieError else { return false }
            return error.code == .invalidArgument && error.field == "bucket" && error.message.contains(reason)
        }
    }

    @Test(arguments: ["a", "a/b/c", "a..b", ".hidden", "dir/", "a//b", "...", String(repeating: "k", count: 1024),
                      String(repeating: "\u{E9}", count: 512), "\u{1F600}", "sp ace", "back\\slash"])
    func validKeys(_ key: String) throws {
        try ObjectNames.validateKey(key)
        try ObjectNames.validatePathKey(key)
    }

    /// S3 keys that a URL path cannot carry faithfully: valid objects, refused by the REST routes only.
    @Test(arguments: ["/abs", ".", "..", "./x", "a/../b", "a/..", "x/./y", "../../etc/passwd", "//"])
    func dotSegmentKeys(_ key: String) throws {
        try ObjectNames.validateKey(key)
        #expect {
            try ObjectNames.validatePathKey(key)
        } throws: { error in
            guard let error = error as? AerieError else { return false }
            return error.code == .invalidArgument && error.field == "key" && error.message.contains("S3 API")
        }
    }

    @Test(arguments: [
        ("", "empty"), (String(repeating: "k", count: 1025), "1025 bytes"), (String(repeating: "\u{E9}", count: 513), "1026 bytes"),
        ("a\u{0}b", "control"), ("a\nb", "control"), ("a\u{1F}", "control"), ("a\u{7F}", "control"),
    ])
    func invalidKeys(_ key: String, _ reason: String) {
        #expect {
            try ObjectNames.validateKey(key)
        } throws: { error in
            guard let error = error as? AerieError else { return false }
            return error.code == .invalidArgument && error.field == "key" && error.message.contains(reason)
        }
    }
}
