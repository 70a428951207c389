import AerieCore
import AerieFunctions
import Foundation

/// The platform function `imagine-generate`: one text-to-image request for the invocation's owner (cache lookup
/// again, then generation with step progress). `POST /v1/apps/imagine/images` invokes it synchronously on a miss and
/// asynchronously with `Prefer: respond-async`.
struct GenerateFunction: Function {
    static let name = "imagine-generate"
    let service: ImagineService
    let configuration: FunctionConfiguration

    init(service: ImagineService) {
        self.service = service
        let settings = service.configuration
        configuration = FunctionConfiguration(
            concurrency: settings.concurrency, maxWaiting: settings.maxWaiting, timeout: settings.timeout, retries: 0,
            idleUnload: .seconds(86_400), description: "Imagine: generates an image for a prompt unless the semantic cache has one")
    }

    func handle(_ input: ImagineService.GenerateInput, state: Void, context: InvocationContext) async throws -> JSONValue {
        try await service.handleGeneration(input, context: context)
    }
}
