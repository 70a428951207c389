import AerieCore
import AerieModels
import AerieONNX
import AerieText
import AerieVision
import Foundation
import Logging

extension GalleryApp {
    /// The app on the models of the data directory `data`: `<data>/models/classifier` (EfficientNet-Lite0),
    /// `<data>/models/minilm` and `<data>/models/onnxruntime`.
    public init(configuration: GalleryConfiguration, dataDirectory data: URL) {
        let threads = configuration.threads
        self.init(configuration: configuration) {
            try Self.loadModels(dataDirectory: data, threads: threads)
        }
    }

    /// The models of a data directory; errors name the command that installs what is missing.
    static func loadModels(dataDirectory data: URL, threads: Int) throws -> (tagger: any PhotoTagger, embedder: any SentenceEmbedder) {
        let store = ModelStore(dataDirectory: data)
        do {
            var options = ONNXSession.Options()
            options.intraOpThreads = threads
            let embedder = try SentenceEmbedderBackend.loadPreferred(store: store, options: options, logger: Logger(label: "aerie.apps.gallery")).embedder
            let classifier = try ImageClassifier(store: store, options: ImageClassifier.Options(intraOpThreads: threads))
            return (ClassifierTagger(classifier: classifier), embedder)
        } catch let error as AerieError {
            throw AerieError(.unavailable, "Gallery needs its models: \(error.message) (`aerie models install classifier`, `aerie models install minilm` "
                + "and `aerie models install onnxruntime` with --data \(data.path)), then restart `aerie serve`.")
        }
    }
}
