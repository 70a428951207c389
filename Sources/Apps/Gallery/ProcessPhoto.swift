import AerieCore
import AerieFunctions
import Foundation

/// Function `gallery-process`, triggered by each original written under `originals/` of bucket `gallery`: thumbnails,
/// tags and the search vector (``GalleryService/process(originalKey:)``), so an upload answers before they are done.
struct ProcessPhoto: Function {
    static let name = "gallery-process"

    let service: GalleryService
    var configuration: FunctionConfiguration

    init(service: GalleryService) {
        self.service = service
        configuration = FunctionConfiguration(concurrency: 2, timeout: .seconds(120), retries: 2,
                                              description: "Makes a Gallery photo's thumbnails, tags and search vector (bucket gallery, originals/).",
                                              adminOnly: true)
    }

    func handle(_ event: ObjectEvent, state: Void, context: InvocationContext) async throws -> GalleryService.ProcessOutput {
        guard event.bucket == GalleryKeys.bucket else {
            throw AerieError.invalid("gallery-process takes objects of bucket gallery, not \(event.bucket).", field: "/bucket")
        }
        let output = try await service.process(originalKey: event.key)
        await context.log("photo \(output.photo ?? "?") is \(output.status)\(output.tags.isEmpty ? "" : ": " + output.tags.joined(separator: ", "))")
        return output
    }
}
