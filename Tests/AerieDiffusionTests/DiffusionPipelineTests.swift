import AerieCore
import AerieDiffusion
import Foundation
import Synchronization
import Testing

@Suite("Diffusion pipeline on the tiny model")
struct DiffusionPipelineTests {
    struct Images: Decodable {
        struct Image: Decodable {
            var prompt: String
            var negative_prompt: String
            var width: Int
            var height: Int
            var steps: Int
            var guidance: Float
            var seed: UInt32
            var scheduler: String
            var png: String
            var rgb: String
        }
        var model: String
        var images: [Image]
    }

    /// The Python reference's image (numpy + onnxruntime, one thread) for every scheduler: on the machine the
    /// fixtures were made on the pixels and PNG bytes are identical; another CPU's ONNX Runtime kernels may move
    /// a few pixels by one level, which is all that is tolerated.
    @Test func imagesEqualThePythonReference() async throws {
        let pipeline = try DiffusionFixtures.pipeline()
        let fixture = try DiffusionFixtures.decode(Images.self, "tiny-images.json")
        #expect(fixture.images.count == 4)
        try #require(
            try DiffusionFixtures.tinyFingerprint() == fixture.model,
            "The tiny model in aerie-data/models/imagine-tiny is not the one the fixtures were made with: delete it and run `make imagine-models`, or `make fixtures` after changing the generator.")
        for image in fixture.images {
            let request = DiffusionRequest(
                prompt: image.prompt, negativePrompt: image.negative_prompt, width: image.width, height: image.height, steps: image.steps,
                guidance: image.guidance, seed: image.seed, scheduler: SchedulerKind(rawValue: image.scheduler))
            let result = try await pipeline.generate(request)
            #expect(result.width == image.width && result.height == image.height && result.rgb.count == image.width * image.height * 3)
            let expected = [UInt8](try DiffusionFixtures.data(image.rgb))
            #expect(expected.count == result.rgb.count)
            let differences = zip(result.rgb, expected).map { abs(Int($0) - Int($1)) }
            #expect(differences.allSatisfy { $0 <= 1 }, "\(image.scheduler): a pixel differs by more than one level")
            let moved = differences.filter { $0 != 0 }.count
            #expect(moved * 100 <= expected.count, "\(image.scheduler): \(moved) of \(expected.count) values differ")
            if moved == 0 {
                #expect(result.png == (try DiffusionFixtures.data(image.png)), "\(image.scheduler): PNG bytes differ from \(image.png)")
            }
        }
    }

    /// An export whose UNet takes an int64 timestep (read from the session) gives the same image with PNDM's integer timesteps.
    @Test func int64TimestepExportsWork() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-int64-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        process.executableURL = DiffusionFixtures.repository.appendingPathComponent(".venv/bin/python")
        process.arguments = [
            DiffusionFixtures.repository.appendingPathComponent("scripts/make-diffusion-model.py").path, "--preset", "tiny",
            "--timestep-dtype", "int64", directory.path,
        ]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        let int64 = try DiffusionPipeline.load(directory: directory, runtime: DiffusionFixtures.runtime(), threads: 1)
        let request = DiffusionRequest(prompt: "a red car", width: 64, height: 64, steps: 3, seed: 3, scheduler: .pndm)
        let expected = try await DiffusionFixtures.pipeline().generate(request)
        #expect(try await int64.generate(request) == expected)
    }

    @Test func modelInfoSizesAndDeterminism() async throws {
        let pipeline = try DiffusionFixtures.pipeline()
        #expect(pipeline.sampleSize == 8)
        #expect(pipeline.defaultScheduler == .pndm)
        let request = DiffusionRequest(prompt: "a red car", width: 96, height: 48, steps: 2, seed: 7, scheduler: .euler)
        let first = try await pipeline.generate(request)
        let second = try await pipeline.generate(request)
        #expect(first.width == 96 && first.height == 48 && first.rgb.count == 96 * 48 * 3)
        #expect(first == second)
        var other = request
        other.seed = 8
        #expect(try await pipeline.generate(other) != first)
        #expect(first.png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }

    @Test func reportsEachStep() async throws {
        let pipeline = try DiffusionFixtures.pipeline()
        let steps = Mutex<[String]>([])
        _ = try await pipeline.generate(DiffusionRequest(prompt: "x", width: 64, height: 64, steps: 3, scheduler: .ddim)) { step, total in
            steps.withLock { $0.append("\(step)/\(total)") }
        }
        #expect(steps.withLock { $0 } == ["1/3", "2/3", "3/3"])
        let pndm = Mutex(0)
        _ = try await pipeline.generate(DiffusionRequest(prompt: "x", width: 64, height: 64, steps: 3, scheduler: .pndm)) { _, total in
            pndm.withLock { $0 = total }
        }
        #expect(pndm.withLock { $0 } == 4)
    }

    @Test func cancellationStopsBetweenSteps() async throws {
        let pipeline = try DiffusionFixtures.pipeline()
        let reached = Mutex(0)
        let atStepTwo = DispatchSemaphore(value: 0)
        let proceed = DispatchSemaphore(value: 0)
        let task = Task {
            try await pipeline.generate(DiffusionRequest(prompt: "x", width: 64, height: 64, steps: 50, scheduler: .euler)) { step, _ in
                reached.withLock { $0 = step }
                if step == 2 {
                    atStepTwo.signal()
                    proceed.wait()
                }
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                atStepTwo.wait()
                continuation.resume()
            }
        }
        task.cancel()
        proceed.signal()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(reached.withLock { $0 } == 2)
    }

    @Test func anAlreadyCancelledTaskDoesNotStart() async throws {
        let pipeline = try DiffusionFixtures.pipeline()
        let calls = Mutex(0)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await pipeline.generate(DiffusionRequest(prompt: "x", width: 64, height: 64, steps: 2)) { _, _ in
                calls.withLock { $0 += 1 }
            }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(calls.withLock { $0 } == 0)
    }

    @Test func invalidRequestsNameTheField() async throws {
        let pipeline = try DiffusionFixtures.pipeline()
        for (request, field) in [
            (DiffusionRequest(prompt: "x", width: 60, height: 64), "width"),
            (DiffusionRequest(prompt: "x", width: 64, height: 0), "height"),
            (DiffusionRequest(prompt: "x", width: 64, height: 64, steps: 0), "steps"),
            (DiffusionRequest(prompt: "x", width: 64, height: 64, guidance: -1), "guidance"),
        ] {
            let error = await #expect(throws: AerieError.self) { try await pipeline.generate(request) }
            #expect(error?.field == field)
        }
    }

    @Test func layoutValidationListsMissingFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("unet"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("{}".utf8).write(to: directory.appendingPathComponent("model_index.json"))
        let error = #expect(throws: AerieError.self) { try DiffusionPipeline.validateLayout(directory: directory) }
        #expect(error?.message.contains("unet/model.onnx") == true)
        #expect(error?.message.contains("model_index.json") == false)
        let nowhere = #expect(throws: AerieError.self) {
            try DiffusionPipeline.validateLayout(directory: directory.appendingPathComponent("absent"))
        }
        #expect(nowhere?.code == .notFound)
        try DiffusionPipeline.validateLayout(directory: DiffusionFixtures.tinyModel())
    }
}
