import AerieDiffusion
import AerieModels
import AerieONNX
import Foundation
import Synchronization

// The Swift side of `make bench-imagine-steps` (bench/imagine_steps.py runs it next to ONNX Runtime Python):
//   aerie-bench-imagine MODEL_DIR DATA_DIR [--steps N] [--repeats R] [--threads T] [--scheduler S] [--size PX]
// prints {"step_seconds": [...]}: the time of each denoising step after the first of every run (the same
// loop iteration the Python reference times: scale, UNet, guidance, scheduler step). ONNX Runtime is the one
// installed in DATA_DIR (`aerie models install onnxruntime --data DATA_DIR`).

func option(_ name: String, _ fallback: String) -> String {
    let arguments = CommandLine.arguments
    if let index = arguments.firstIndex(of: name), index + 1 < arguments.count { return arguments[index + 1] }
    return fallback
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: aerie-bench-imagine MODEL_DIR DATA_DIR [--steps N] [--repeats R] [--threads T]\n".utf8))
    exit(2)
}
let steps = Int(option("--steps", "5")) ?? 5
let repeats = Int(option("--repeats", "2")) ?? 2
let threads = Int(option("--threads", "0")) ?? 0
let scheduler = SchedulerKind(rawValue: option("--scheduler", "euler")) ?? .euler
do {
    let runtime = try ONNXRuntime(installedIn: ModelStore(dataDirectory: URL(fileURLWithPath: arguments[2], isDirectory: true)))
    let pipeline = try DiffusionPipeline.load(directory: URL(fileURLWithPath: arguments[1], isDirectory: true), runtime: runtime, threads: threads)
    let size = Int(option("--size", "0")).flatMap { $0 > 0 ? $0 : nil } ?? pipeline.sampleSize * 8
    _ = try await pipeline.generate(DiffusionRequest(prompt: "warm up", width: size, height: size, steps: 1, scheduler: scheduler))
    let times = Mutex<[Double]>([])
    for repeat_ in 0..<repeats {
        let last = Mutex<ContinuousClock.Instant?>(nil)
        let request = DiffusionRequest(
            prompt: "a lighthouse at dawn", width: size, height: size, steps: steps, seed: UInt32(repeat_), scheduler: scheduler)
        _ = try await pipeline.generate(request) { _, _ in
            let now = ContinuousClock.now
            last.withLock { previous in
                if let previous {
                    let duration = previous.duration(to: now)
                    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                    times.withLock { $0.append(seconds) }
                }
                previous = now
            }
        }
    }
    let object: [String: Any] = ["step_seconds": times.withLock { $0 }, "size": size, "scheduler": scheduler.rawValue, "threads": threads]
    let data = try JSONSerialization.data(withJSONObject: object)
    print(String(decoding: data, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("aerie-bench-imagine: \(error)\n".utf8))
    exit(1)
}
