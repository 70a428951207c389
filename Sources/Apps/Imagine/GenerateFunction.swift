import AerieCore
import AerieFunctions
import Foundation

/// The platform function `imagine-generate`: one text-to-image request for the invocation's owner (cache lookup
/// again, then generation with step progress). `POST /v1/apps/imagine/images` invokes it synchronously on a miss and
/// asynchronously with `Prefer: respond-async`. An async generation is retried once: with no retry, a server killed
/// mid-generation left the invocation failed with "no attempts left" and no image (the crash matrix found it); a
/// sync generation is never retried (its caller has the error), and an invalid input never is.
struct GenerateFunction: Function {
    static let name = "imagine-generate"
    let service: ImagineService
    let configuration: FunctionConfiguration

    init(service: ImagineService) {
        self.service = service
        let settings = service.configuration
        configuration = FunctionConfiguration(
            concurrency: settings.concurrency, maxWaiting: settings.maxWaiting, timeout: settings.timeout, retries: 1,
            idleUnload: .seconds(86_400), description: "Imagine: generates an image for a prompt unless the semantic cache has one")
    }

    func handle(_ input: ImagineService.GenerateInput, state: Void, context: InvocationContext) async throws -> JSONValue {
        try await service.handleGeneration(input, context: context)
    }
}
