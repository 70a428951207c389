import AerieCore
import Foundation

/// A loaded ONNX model: named inputs and outputs, run on the CPU by ONNX Runtime.
///
/// ONNX Runtime allows concurrent `Run` calls on one session, so a session can be shared.
public final class ONNXSession: @unchecked Sendable {
    public struct Options: Sendable {
        /// How much ONNX Runtime rewrites the graph before running it.
        public enum GraphOptimization: Int32, Sendable {
            case disabled = 0
            case basic = 1
            case extended = 2
            case all = 99
        }

        /// Threads inside one operator (0: ONNX Runtime's default, one per core).
        public var intraOpThreads: Int = 0
        /// Threads across independent operators (0: default).
        public var interOpThreads: Int = 0
        public var graphOptimization: GraphOptimization = .all
        /// ONNX Runtime's profiler, off unless asked for: with a prefix, the session writes a JSON trace of
        /// every operator (tens of MB) to `<prefix>_<date>.json` when it is released. Without one, profiling
        /// is switched off explicitly, whatever the library's default.
        public var profileFilePrefix: String?

        public init(
            intraOpThreads: Int = 0, interOpThreads: Int = 0, graphOptimization: GraphOptimization = .all,
            profileFilePrefix: String? = nil
        ) {
            self.intraOpThreads = intraOpThreads
            self.interOpThreads = interOpThreads
            self.graphOptimization = graphOptimization
            self.profileFilePrefix = profileFilePrefix
        }
    }

    public let runtime: ONNXRuntime
    public let inputNames: [String]
    public let outputNames: [String]
    /// The element type of each input, in the order of ``inputNames`` (tensor inputs; other kinds read as 0).
    public let inputTypes: [ONNXTensor.ElementType]
    /// The element type of each output, in the order of ``outputNames``.
    public let outputTypes: [ONNXTensor.ElementType]
    private let session: OpaquePointer
    private let memoryInfo: OpaquePointer

    /// Loads the model at `path`.
    public init(runtime: ONNXRuntime, modelPath path: String, options: Options = Options()) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AerieError.notFound("There is no ONNX model at \(path); check the path.")
        }
        self.runtime = runtime
        var sessionOptions: OpaquePointer?
        try runtime.check(
            runtime.entry(ORTEntry.createSessionOptions, as: ORTEntry.CreateSessionOptions.self)(&sessionOptions),
            doing: "creating session options")
        guard let sessionOptions else { throw AerieError(.internal, "ONNX Runtime returned no session options.") }
        defer { runtime.entry(ORTEntry.releaseSessionOptions, as: ORTEntry.Release.self)(sessionOptions) }
        let setInt = { (index: Int, value: Int32, what: String) throws in
            try runtime.check(runtime.entry(index, as: ORTEntry.SetInt.self)(sessionOptions, value), doing: what)
        }
        try setInt(ORTEntry.setIntraOpNumThreads, Int32(options.intraOpThreads), "setting the intra-op threads")
        try setInt(ORTEntry.setInterOpNumThreads, Int32(options.interOpThreads), "setting the inter-op threads")
        try setInt(ORTEntry.setSessionGraphOptimizationLevel, options.graphOptimization.rawValue, "setting the optimisation level")
        if let prefix = options.profileFilePrefix {
            try runtime.check(
                runtime.entry(ORTEntry.enableProfiling, as: ORTEntry.EnableProfiling.self)(sessionOptions, prefix),
                doing: "enabling profiling")
        } else {
            try runtime.check(
                runtime.entry(ORTEntry.disableProfiling, as: ORTEntry.DisableProfiling.self)(sessionOptions),
                doing: "disabling profiling")
        }

        var session: OpaquePointer?
        try runtime.check(
            runtime.entry(ORTEntry.createSession, as: ORTEntry.CreateSession.self)(runtime.env, path, sessionOptions, &session),
            doing: "loading \(path)")
        guard let session else { throw AerieError(.internal, "ONNX Runtime returned no session for \(path).") }
        self.session = session

        var memoryInfo: OpaquePointer?
        do {
            // OrtArenaAllocator, OrtMemTypeDefault.
            try runtime.check(
                runtime.entry(ORTEntry.createCpuMemoryInfo, as: ORTEntry.CreateCpuMemoryInfo.self)(1, 0, &memoryInfo),
                doing: "creating CPU memory info")
            guard let memoryInfo else { throw AerieError(.internal, "ONNX Runtime returned no memory info.") }
            self.memoryInfo = memoryInfo
            inputNames = try Self.names(runtime: runtime, session: session, input: true)
            outputNames = try Self.names(runtime: runtime, session: session, input: false)
            inputTypes = try Self.types(runtime: runtime, session: session, input: true, count: inputNames.count)
            outputTypes = try Self.types(runtime: runtime, session: session, input: false, count: outputNames.count)
        } catch {
            if let memoryInfo { runtime.entry(ORTEntry.releaseMemoryInfo, as: ORTEntry.Release.self)(memoryInfo) }
            runtime.entry(ORTEntry.releaseSession, as: ORTEntry.Release.self)(session)
            throw error
        }
    }

    deinit {
        runtime.entry(ORTEntry.releaseMemoryInfo, as: ORTEntry.Release.self)(memoryInfo)
        runtime.entry(ORTEntry.releaseSession, as: ORTEntry.Release.self)(session)
    }

    private static func names(runtime: ONNXRuntime, session: OpaquePointer, input: Bool) throws -> [String] {
        var count = 0
        try runtime.check(
            runtime.entry(input ? ORTEntry.sessionGetInputCount : ORTEntry.sessionGetOutputCount, as: ORTEntry.GetCount.self)(
                session, &count),
            doing: "counting the model's \(input ? "inputs" : "outputs")")
        var allocator: OpaquePointer?
        try runtime.check(
            runtime.entry(ORTEntry.getAllocatorWithDefaultOptions, as: ORTEntry.GetAllocator.self)(&allocator),
            doing: "getting the default allocator")
        guard let allocator else { throw AerieError(.internal, "ONNX Runtime returned no allocator.") }
        let getName = runtime.entry(input ? ORTEntry.sessionGetInputName : ORTEntry.sessionGetOutputName, as: ORTEntry.GetName.self)
        let free = runtime.entry(ORTEntry.allocatorFree, as: ORTEntry.AllocatorFree.self)
        var names: [String] = []
        for index in 0..<count {
            var name: UnsafeMutablePointer<CChar>?
            try runtime.check(getName(session, index, allocator, &name), doing: "reading a model \(input ? "input" : "output") name")
            guard let name else { continue }
            names.append(String(cString: name))
            try runtime.check(free(allocator, name), doing: "freeing a name")
        }
        return names
    }

    /// The declared element type of the input `name`, if the model has it.
    public func inputType(named name: String) -> ONNXTensor.ElementType? {
        inputNames.firstIndex(of: name).map { inputTypes[$0] }
    }

    private static func types(runtime: ONNXRuntime, session: OpaquePointer, input: Bool, count: Int) throws -> [ONNXTensor.ElementType] {
        let getTypeInfo = runtime.entry(
            input ? ORTEntry.sessionGetInputTypeInfo : ORTEntry.sessionGetOutputTypeInfo, as: ORTEntry.GetTypeInfo.self)
        let cast = runtime.entry(ORTEntry.castTypeInfoToTensorInfo, as: ORTEntry.CastTypeInfoToTensorInfo.self)
        let elementType = runtime.entry(ORTEntry.getTensorElementType, as: ORTEntry.GetElementType.self)
        let release = runtime.entry(ORTEntry.releaseTypeInfo, as: ORTEntry.Release.self)
        var types: [ONNXTensor.ElementType] = []
        for index in 0..<count {
            var info: OpaquePointer?
            try runtime.check(getTypeInfo(session, index, &info), doing: "reading the type of a model \(input ? "input" : "output")")
            guard let info else {
                types.append(ONNXTensor.ElementType(rawValue: 0))
                continue
            }
            defer { release(info) }
            var tensorInfo: OpaquePointer?
            try runtime.check(cast(info, &tensorInfo), doing: "reading a tensor type")
            var type: Int32 = 0
            if let tensorInfo {
                try runtime.check(elementType(tensorInfo, &type), doing: "reading an element type")
            }
            types.append(ONNXTensor.ElementType(rawValue: type))
        }
        return types
    }

    /// Runs the model on named inputs and returns the requested outputs (all outputs by default).
    public func run(_ inputs: [String: ONNXTensor], outputs requested: [String]? = nil) throws -> [String: ONNXTensor] {
        for name in inputs.keys where !inputNames.contains(name) {
            throw AerieError.invalid("The model has no input named \(name); its inputs are \(inputNames.joined(separator: ", ")).", field: name)
        }
        let outputs = requested ?? outputNames
        for name in outputs where !outputNames.contains(name) {
            throw AerieError.invalid("The model has no output named \(name); its outputs are \(outputNames.joined(separator: ", ")).", field: name)
        }
        let release = runtime.entry(ORTEntry.releaseValue, as: ORTEntry.Release.self)
        let createTensor = runtime.entry(ORTEntry.createTensorWithDataAsOrtValue, as: ORTEntry.CreateTensor.self)

        // Input buffers must outlive the run: keep copies here, created values point into them.
        let names = Array(inputs.keys)
        var buffers: [UnsafeMutableRawPointer] = []
        var values: [OpaquePointer?] = []
        defer {
            for value in values { release(value) }
            for buffer in buffers { buffer.deallocate() }
        }
        for name in names {
            guard let tensor = inputs[name] else { continue }
            let byteCount: Int
            let buffer: UnsafeMutableRawPointer
            switch tensor.elements {
            case .float32(let v):
                byteCount = v.count * 4
                buffer = .allocate(byteCount: max(byteCount, 1), alignment: 64)
                v.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(buffer), byteCount: byteCount) }
            case .float16(let v):
                byteCount = v.count * 2
                buffer = .allocate(byteCount: max(byteCount, 1), alignment: 64)
                v.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(buffer), byteCount: byteCount) }
            case .int64(let v):
                byteCount = v.count * 8
                buffer = .allocate(byteCount: max(byteCount, 1), alignment: 64)
                v.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(buffer), byteCount: byteCount) }
            case .int32(let v):
                byteCount = v.count * 4
                buffer = .allocate(byteCount: max(byteCount, 1), alignment: 64)
                v.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(buffer), byteCount: byteCount) }
            }
            buffers.append(buffer)
            let shape = tensor.shape.map(Int64.init)
            var value: OpaquePointer?
            try runtime.check(
                createTensor(memoryInfo, buffer, byteCount, shape, shape.count, tensor.elements.onnxType, &value),
                doing: "creating the \(tensor.elements.typeName) tensor \(name) of shape \(tensor.shape)")
            values.append(value)
        }

        var results = [OpaquePointer?](repeating: nil, count: outputs.count)
        defer { for value in results { release(value) } }
        let inputCStrings = names.map { strdup($0) }
        let outputCStrings = outputs.map { strdup($0) }
        defer {
            for pointer in inputCStrings + outputCStrings { free(pointer) }
        }
        let inputPointers = inputCStrings.map { UnsafePointer<CChar>($0) }
        let outputPointers = outputCStrings.map { UnsafePointer<CChar>($0) }
        try runtime.check(
            runtime.entry(ORTEntry.run, as: ORTEntry.Run.self)(
                session, nil, inputPointers, values, values.count, outputPointers, outputPointers.count, &results),
            doing: "running the model")

        var tensors: [String: ONNXTensor] = [:]
        for (index, name) in outputs.enumerated() {
            guard let value = results[index] else { continue }
            tensors[name] = try read(value, name: name)
        }
        return tensors
    }

    private func read(_ value: OpaquePointer, name: String) throws -> ONNXTensor {
        var info: OpaquePointer?
        try runtime.check(
            runtime.entry(ORTEntry.getTensorTypeAndShape, as: ORTEntry.GetTensorTypeAndShape.self)(value, &info),
            doing: "reading the shape of output \(name)")
        guard let info else { throw AerieError(.internal, "ONNX Runtime returned no shape for \(name).") }
        defer { runtime.entry(ORTEntry.releaseTensorTypeAndShapeInfo, as: ORTEntry.Release.self)(info) }
        var type: Int32 = 0
        try runtime.check(runtime.entry(ORTEntry.getTensorElementType, as: ORTEntry.GetElementType.self)(info, &type), doing: "reading the type of \(name)")
        var rank = 0
        try runtime.check(runtime.entry(ORTEntry.getDimensionsCount, as: ORTEntry.GetCount.self)(info, &rank), doing: "reading the rank of \(name)")
        var dimensions = [Int64](repeating: 0, count: rank)
        try runtime.check(
            runtime.entry(ORTEntry.getDimensions, as: ORTEntry.GetDimensions.self)(info, &dimensions, rank), doing: "reading the shape of \(name)")
        let shape = dimensions.map { Int($0) }
        let count = shape.reduce(1, *)
        var data: UnsafeMutableRawPointer?
        try runtime.check(
            runtime.entry(ORTEntry.getTensorMutableData, as: ORTEntry.GetTensorMutableData.self)(value, &data), doing: "reading output \(name)")
        guard let data else { throw AerieError(.internal, "ONNX Runtime returned no data for \(name).") }
        switch type {
        case 1:
            return try ONNXTensor(shape: shape, elements: .float32(Array(UnsafeBufferPointer(start: data.assumingMemoryBound(to: Float.self), count: count))))
        case 10:
            return try ONNXTensor(shape: shape, elements: .float16(Array(UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt16.self), count: count))))
        case 7:
            return try ONNXTensor(shape: shape, elements: .int64(Array(UnsafeBufferPointer(start: data.assumingMemoryBound(to: Int64.self), count: count))))
        case 6:
            return try ONNXTensor(shape: shape, elements: .int32(Array(UnsafeBufferPointer(start: data.assumingMemoryBound(to: Int32.self), count: count))))
        default:
            throw AerieError.invalid("Output \(name) has ONNX element type \(type); only float32, float16, int64 and int32 are supported.")
        }
    }
}
