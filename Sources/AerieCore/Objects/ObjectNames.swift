/// Validation of bucket names and object keys, shared by every object-store driver and the gateway.
public enum ObjectNames {
    /// The longest key accepted, in UTF-8 bytes (as S3).
    public static let maxKeyBytes = 1024

    /// Checks a bucket name against S3's rules: 3–63 characters of lower-case letters, digits, `-` and `.`,
    /// starting and ending with a letter or digit, no `..`, not shaped like an IP address.
    public static func validateBucket(_ name: String) throws {
        func fail(_ why: String) -> AerieError {
            AerieError.invalid("Bucket name \"\(name)\" is invalid: \(why). Use 3–63 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit.", field: "bucket")
        }
        // Over the UTF-8 view, with no copy: every object route checks its bucket.
        let bytes = name.utf8
        guard (3...63).contains(bytes.count) else { throw fail("it must be 3 to 63 characters long") }
        var onlyDigitsAndDots = true
        for byte in bytes {
            let ok = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            guard ok else { throw fail("it contains a character other than a-z, 0-9, '-' and '.'") }
            if byte == UInt8(ascii: "-") || byte >= UInt8(ascii: "a") { onlyDigitsAndDots = false }
        }
        guard let first = bytes.first, let last = bytes.last,
              isAlphanumeric(first), isAlphanumeric(last) else { throw fail("it must start and end with a letter or digit") }
        guard !zip(bytes, bytes.dropFirst()).contains(where: { $0 == UInt8(ascii: ".") && $1 == UInt8(ascii: ".") }) else {
            throw fail("it contains '..'")
        }
        if onlyDigitsAndDots {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) { throw fail("it is shaped like an IP address") }
        }
    }

    /// Checks an object key as S3 does: non-empty UTF-8 of at most 1024 bytes. `.` and `..` segments and a leading
    /// `/` are ordinary characters of a key (`a/../b` is not `b`); drivers never build a path from a key (the file
    /// driver names files by a hash of it). Aerie also refuses NUL and other control characters, which XML listings
    /// and logs cannot carry.
    public static func validateKey(_ key: String) throws {
        func fail(_ why: String) -> AerieError {
            AerieError.invalid("Object key is invalid: \(why).", field: "key")
        }
        guard !key.isEmpty else { throw fail("it is empty") }
        guard key.utf8.count <= maxKeyBytes else { throw fail("it is \(key.utf8.count) bytes long; the limit is \(maxKeyBytes) bytes of UTF-8") }
        guard !key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw fail("it contains a NUL or another control character")
        }
    }

    /// Checks a key that travels as a URL path (the REST routes `/v1/buckets/{bucket}/objects/{key}`): a valid key
    /// (``validateKey(_:)``) without a `.` or `..` segment or a leading `/`, because clients and proxies normalize
    /// those in URL paths (RFC 3986 section 5.2.4), so the same URL would name different keys through different
    /// clients. Such keys are reachable through the S3 API, whose clients sign the path as sent.
    public static func validatePathKey(_ key: String) throws {
        try validateKey(key)
        func fail(_ why: String) -> AerieError {
            AerieError.invalid("Object key is invalid in a URL path: \(why). Such keys are valid objects; use the S3 API for them.", field: "key")
        }
        guard !key.hasPrefix("/") else { throw fail("it starts with '/'") }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) where segment == "." || segment == ".." {
            throw fail("it contains a '\(segment)' path segment")
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
