import AerieS3
import Foundation
import Testing

/// SigV4 against AWS's published examples: the S3 developer guide's header, presigned and chunked examples
/// (examplebucket, AKIAIOSFODNN7EXAMPLE, 2013-05-24) and the SigV4 test suite's `get-vanilla` cases.
@Suite struct SigV4Tests {
    static let accessKey = "AKIAIOSFODNN7EXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let exampleTime = Date(timeIntervalSince1970: 1_369_353_600) // 2013-05-24T00:00:00Z

    static func authorization(_ signedHeaders: String, _ signature: String) -> String {
        "AWS4-HMAC-SHA256 Credential=\(accessKey)/20130524/us-east-1/s3/aws4_request,SignedHeaders=\(signedHeaders),Signature=\(signature)"
    }

    @Test func timestampsRoundTrip() {
        #expect(SigV4.timestamp(Self.exampleTime) == "20130524T000000Z")
        #expect(SigV4.parseTimestamp("20130524T000000Z") == Self.exampleTime)
        #expect(SigV4.parseTimestamp("2013-05-24T00:00:00Z") == nil)
        // Out-of-range fields are refused, not rolled over (found by the sigv4 fuzz target: month 0 was December).
        for invalid in ["12260027T235959Z", "20261301T000000Z", "20260230T000000Z", "20261207T240000Z", "20261207T236000Z"] {
            #expect(SigV4.parseTimestamp(invalid) == nil, "\(invalid)")
        }
        #expect(SigV4.parseTimestamp("20240229T235959Z") != nil, "a leap day is real")
        #expect(S3Time.parseHTTPDate("Fri, 24 May 2013 00:00:00 GMT") == Self.exampleTime)
        #expect(S3Time.httpDate(Self.exampleTime) == "Fri, 24 May 2013 00:00:00 GMT")
    }

    @Test func testSuiteGetVanilla() {
        // aws-sig-v4-test-suite/get-vanilla and get-vanilla-query-order-key-case.
        let key = SigV4.signingKey(secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", date: "20150830", region: "us-east-1", service: "service")
        let headers: [(name: String, value: String)] = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]
        let canonical = SigV4.canonicalRequest(method: "GET", path: "/", query: "", headers: headers, signedHeaders: ["host", "x-amz-date"],
                                               payloadHash: SigV4.emptySHA256)
        #expect(canonical == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(SigV4.emptySHA256)")
        let toSign = SigV4.stringToSign(timestamp: "20150830T123600Z", scope: "20150830/us-east-1/service/aws4_request", canonicalRequest: canonical)
        #expect(toSign.hasSuffix("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"))
        #expect(SigV4.signature(key: key, stringToSign: toSign) == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")

        let ordered = SigV4.canonicalRequest(method: "GET", path: "/", query: "Param2=value2&Param1=value1", headers: headers,
                                             signedHeaders: ["host", "x-amz-date"], payloadHash: SigV4.emptySHA256)
        let orderedToSign = SigV4.stringToSign(timestamp: "20150830T123600Z", scope: "20150830/us-east-1/service/aws4_request", canonicalRequest: ordered)
        #expect(SigV4.signature(key: key, stringToSign: orderedToSign) == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    static func getObjectRequest(signature: String = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") -> SignedRequest {
        SignedRequest(method: "GET", path: "/test.txt", query: "", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", SigV4.emptySHA256), ("x-amz-date", "20130524T000000Z"),
            ("Authorization", authorization("host;range;x-amz-content-sha256;x-amz-date", signature)),
        ])
    }

    @Test func headerGetObjectExample() throws {
        let verified = try SigV4Verifier().verify(Self.getObjectRequest(), secret: Self.secret, now: Self.exampleTime)
        #expect(verified.accessKeyId == Self.accessKey)
        #expect(verified.scope == "20130524/us-east-1/s3/aws4_request")
        #expect(verified.payloadHash == SigV4.emptySHA256)
        #expect(try SigV4Verifier.accessKeyId(of: Self.getObjectRequest()) == Self.accessKey)
    }

    @Test func headerPutObjectExampleWithEscapedPathAndDateHeader() throws {
        let request = SignedRequest(method: "PUT", path: "/test%24file.text", query: "", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
            ("Authorization", Self.authorization("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                                                 "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")),
        ])
        _ = try SigV4Verifier().verify(request, secret: Self.secret, now: Self.exampleTime)
        #expect(SigV4.sha256Hex(Data("Welcome to Amazon S3.".utf8)) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
    }

    @Test func headerListObjectsExampleSortsTheQuery() throws {
        let request = SignedRequest(method: "GET", path: "/", query: "max-keys=2&prefix=J", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", SigV4.emptySHA256),
            ("Authorization", Self.authorization("host;x-amz-content-sha256;x-amz-date",
                                                 "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")),
        ])
        _ = try SigV4Verifier().verify(request, secret: Self.secret, now: Self.exampleTime)
        let lifecycle = SignedRequest(method: "GET", path: "/", query: "lifecycle", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", SigV4.emptySHA256),
            ("Authorization", Self.authorization("host;x-amz-content-sha256;x-amz-date",
                                                 "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")),
        ])
        _ = try SigV4Verifier().verify(lifecycle, secret: Self.secret, now: Self.exampleTime)
    }

    @Test func wrongSecretOrTamperedRequestDoesNotMatch() throws {
        #expect(throws: S3Error.self) { try SigV4Verifier().verify(Self.getObjectRequest(), secret: "wrong", now: Self.exampleTime) }
        var tampered = Self.getObjectRequest()
        tampered.headers[1].value = "bytes=0-10"
        do {
            _ = try SigV4Verifier().verify(tampered, secret: Self.secret, now: Self.exampleTime)
            Issue.record("a tampered Range header verified")
        } catch let error as S3Error {
            #expect(error.code == "SignatureDoesNotMatch")
            #expect(error.status == 403)
            #expect(error.details.contains { $0.0 == "CanonicalRequest" && $0.1.contains("range:bytes=0-10") })
        }
    }

    @Test func skewOverFifteenMinutesIsRefused() throws {
        _ = try SigV4Verifier().verify(Self.getObjectRequest(), secret: Self.secret, now: Self.exampleTime.addingTimeInterval(14 * 60))
        do {
            _ = try SigV4Verifier().verify(Self.getObjectRequest(), secret: Self.secret, now: Self.exampleTime.addingTimeInterval(16 * 60))
            Issue.record("a request 16 minutes old verified")
        } catch let error as S3Error {
            #expect(error.code == "RequestTimeTooSkewed")
            #expect(error.status == 403)
        }
    }

    @Test func malformedHeadersAreNamed() {
        for (header, code) in [("AWS AKIAIOSFODNN7EXAMPLE:abc", "InvalidRequest"),
                               ("AWS4-HMAC-SHA256 Credential=x/1/2/3/4,SignedHeaders=host,Signature=00", "AuthorizationHeaderMalformed"),
                               ("Bearer abc", "AuthorizationHeaderMalformed")] {
            var request = Self.getObjectRequest()
            request.headers[4].value = header
            #expect(throws: S3Error.self) { try SigV4Verifier().verify(request, secret: Self.secret, now: Self.exampleTime) }
            do { _ = try SigV4Verifier().verify(request, secret: Self.secret, now: Self.exampleTime) } catch let error as S3Error {
                #expect(error.code == code, "\(header)")
            } catch { Issue.record("unexpected \(error)") }
        }
    }

    static let presignedQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

    @Test func presignedExample() throws {
        let request = SignedRequest(method: "GET", path: "/test.txt", query: Self.presignedQuery,
                                    headers: [("Host", "examplebucket.s3.amazonaws.com")])
        #expect(SigV4Verifier.isSigned(request))
        #expect(try SigV4Verifier.accessKeyId(of: request) == Self.accessKey)
        let verified = try SigV4Verifier().verify(request, secret: Self.secret, now: Self.exampleTime.addingTimeInterval(3600))
        #expect(verified.payloadHash == SigV4.unsignedPayload)
        // A day and a second later it has expired.
        do {
            _ = try SigV4Verifier().verify(request, secret: Self.secret, now: Self.exampleTime.addingTimeInterval(86_401))
            Issue.record("an expired URL verified")
        } catch let error as S3Error {
            #expect(error.code == "AccessDenied")
            #expect(error.message == "Request has expired")
        }
        // Another key in the URL breaks the signature.
        let other = SignedRequest(method: "GET", path: "/other.txt", query: Self.presignedQuery, headers: [("Host", "examplebucket.s3.amazonaws.com")])
        #expect(throws: S3Error.self) { try SigV4Verifier().verify(other, secret: Self.secret, now: Self.exampleTime) }
    }

    @Test func chunkSignaturesChainFromTheSeed() throws {
        let request = SignedRequest(method: "PUT", path: "/examplebucket/chunkObject.txt", query: "", headers: [
            ("Host", "s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", SigV4.streamingSignedPayload), ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"), ("Content-Length", "66824"),
            ("Authorization", Self.authorization(
                "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
                "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")),
        ])
        let verified = try SigV4Verifier().verify(request, secret: Self.secret, now: Self.exampleTime)
        #expect(verified.payloadHash == SigV4.streamingSignedPayload)
        var previous = verified.signature
        let expected = ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]
        for (chunk, signature) in zip([Data(repeating: 97, count: 65536), Data(repeating: 97, count: 1024), Data()], expected) {
            let toSign = SigV4.chunkStringToSign(timestamp: verified.timestamp, scope: verified.scope, previousSignature: previous,
                                                 chunkSHA256: SigV4.sha256Hex(chunk))
            previous = SigV4.signature(key: verified.signingKey, stringToSign: toSign)
            #expect(previous == signature)
        }
    }

    @Test func uriEncodingFollowsAWS() {
        #expect(SigV4.uriEncode("a b/c+d~e*", keepSlash: true) == "a%20b/c%2Bd~e%2A")
        #expect(SigV4.uriEncode("a/b", keepSlash: false) == "a%2Fb")
        #expect(SigV4.uriEncode("ü", keepSlash: true) == "%C3%BC")
        #expect(SigV4.percentDecode("a%2Fb+c%zz") == "a/b+c%zz")
        #expect(SigV4.canonicalQueryString("b=2&a=&a=1&X-Amz-Signature=s", excluding: "X-Amz-Signature") == "a=&a=1&b=2")
    }

    @Test func errorDocumentEscapesAndCarriesTheRequestId() {
        let document = S3Error.noSuchKey("a<b>&c").document(resource: "/bucket/a<b>&c", requestId: "REQ1")
        #expect(document.contains("<Code>NoSuchKey</Code>"))
        #expect(document.contains("<Key>a&lt;b&gt;&amp;c</Key>"))
        #expect(document.contains("<RequestId>REQ1</RequestId>"))
        #expect(document.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"))
    }
}
