import AerieCore
import AerieModels
import Foundation

/// Where a diffusion pipeline is registered under a data directory: `<data>/models/<name>/` (default
/// `imagine`) holds the `.aerie-model.json` manifest that `aerie models list` reads and `pipeline`, a link to
/// the diffusers ONNX directory chosen with `aerie models use imagine DIR`. The registration lives in the
/// data directory's ``ModelStore``, next to the installed models.
public struct DiffusionModelStore: Sendable {
    /// The model name the Imagine app loads.
    public static let defaultName = "imagine"
    /// The models of the data directory.
    public let store: ModelStore
    /// `<data>/models`.
    public var root: URL { store.root }

    public init(dataDirectory: URL) {
        store = ModelStore(dataDirectory: dataDirectory)
    }

    /// The diffusers directory registered as `name`; throws `not-found` naming the command to run.
    public func pipelineDirectory(name: String = DiffusionModelStore.defaultName) throws -> URL {
        let pipeline = root.appendingPathComponent(name, isDirectory: true).appendingPathComponent("pipeline", isDirectory: true)
        guard FileManager.default.fileExists(atPath: pipeline.appendingPathComponent("model_index.json").path) else {
            throw AerieError.notFound(
                "No diffusion model is registered as \(name) in \(root.path). Run `make imagine-models` for the tiny test model, "
                    + "or `aerie models use \(name) DIR` with a Stable Diffusion 1.x ONNX export.")
        }
        return pipeline
    }

    /// Checks `source` has the diffusers ONNX layout and registers it as `name` (replacing an earlier
    /// registration; the files stay where they are). Returns the registered pipeline directory.
    @discardableResult
    public func use(_ source: URL, name: String = DiffusionModelStore.defaultName) throws -> URL {
        let source = source.standardizedFileURL.resolvingSymlinksInPath()
        try DiffusionPipeline.validateLayout(directory: source)
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw AerieError.invalid("A model name is letters, digits, - and _; not \(name).", field: "name")
        }
        let entry = store.directory(for: name)
        let manager = FileManager.default
        let entryPath = entry.standardizedFileURL.resolvingSymlinksInPath().path
        guard source.path != entryPath, !source.path.hasPrefix(entryPath + "/") else {
            throw AerieError.invalid(
                "\(source.path) is inside \(entry.path), which `use` replaces; move the export elsewhere (e.g. \(root.path)/\(name)-model) and run it again.")
        }
        if manager.fileExists(atPath: entry.path) || (try? manager.destinationOfSymbolicLink(atPath: entry.path)) != nil {
            // Only an earlier registration is replaced, never a directory someone put there by hand.
            let registered = manager.fileExists(atPath: entry.appendingPathComponent(ModelStore.manifestName).path)
                || (try? manager.destinationOfSymbolicLink(atPath: entry.appendingPathComponent("pipeline").path)) != nil
            guard registered else {
                throw AerieError(
                    .conflict, "\(entry.path) exists and is not a registration made by `aerie models use`; move it away and run it again.")
            }
            try manager.removeItem(at: entry)
        }
        try manager.createDirectory(at: entry, withIntermediateDirectories: true)
        try manager.createSymbolicLink(atPath: entry.appendingPathComponent("pipeline").path, withDestinationPath: source.path)

        var files: [String] = []
        for component in ["model_index.json", "text_encoder", "unet", "vae_decoder", "tokenizer", "scheduler"] {
            let url = source.appendingPathComponent(component)
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                for file in (try? manager.contentsOfDirectory(atPath: url.path)) ?? [] where !file.hasPrefix(".") {
                    files.append("pipeline/\(component)/\(file)")
                }
            } else {
                files.append("pipeline/\(component)")
            }
        }
        var displayName = "Stable Diffusion (ONNX)"
        var version = "local"
        if let data = try? Data(contentsOf: source.appendingPathComponent("model_index.json")),
            let index = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        {
            if let aerie = index["aerie"] as? [String: Any], let preset = aerie["preset"] as? String {
                displayName = "Imagine \(preset) (random)"
            }
            if let diffusers = index["_diffusers_version"] as? String { version = diffusers }
        }
        let manifest = ModelStore.Manifest(
            name: name, displayName: displayName, package: "diffusers-onnx", version: version, source: source.path, files: files.sorted())
        try ModelStore.write(manifest, in: entry)
        return entry.appendingPathComponent("pipeline", isDirectory: true)
    }
}
