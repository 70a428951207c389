import Foundation

/// How the S3 API is served.
public struct S3Configuration: Sendable {
    /// The region clients sign for and `GetBucketLocation` reports (any region a client signs with is accepted).
    public var region: String
    /// With a domain (`s3.example.test`), a host `<bucket>.<domain>` addresses the bucket (virtual-host style);
    /// path style (`/<bucket>/<key>`) always works.
    public var domain: String?
    /// The largest object a single PUT may store, in bytes.
    public var maxObjectSize: Int64

    public init(region: String = "us-east-1", domain: String? = nil, maxObjectSize: Int64 = 5 << 30) {
        self.region = region
        self.domain = domain?.lowercased()
        self.maxObjectSize = maxObjectSize
    }
}
