// swift-tools-version:6.1
// Aerie: a self-hosted platform for serverless AI applications.
// Layout and boundaries: see ARCHITECTURE.md §2.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "aerie",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "aerie", targets: ["aerie"]),
        .library(name: "AerieCore", targets: ["AerieCore"]),
        .library(name: "AerieSQLite", targets: ["AerieSQLite"]),
        .library(name: "AeriePostgres", targets: ["AeriePostgres"]),
        .library(name: "AerieAuth", targets: ["AerieAuth"]),
        .library(name: "AerieFunctions", targets: ["AerieFunctions"]),
        .library(name: "AerieHTTP", targets: ["AerieHTTP"]),
        .library(name: "AerieTesting", targets: ["AerieTesting"]),
        .library(name: "AerieHTTPTesting", targets: ["AerieHTTPTesting"]),
        .library(name: "AerieModels", targets: ["AerieModels"]),
        .library(name: "AerieText", targets: ["AerieText"]),
        .library(name: "AerieVectors", targets: ["AerieVectors"]),
        .library(name: "AerieONNX", targets: ["AerieONNX"]),
        .library(name: "AerieDiffusion", targets: ["AerieDiffusion"]),
        .library(name: "AerieImaging", targets: ["AerieImaging"]),
        .library(name: "AerieVision", targets: ["AerieVision"]),
        .library(name: "AerieFaces", targets: ["AerieFaces"]),
        .library(name: "AerieMail", targets: ["AerieMail"]),
        .library(name: "AerieS3", targets: ["AerieS3"]),
        .library(name: "AerieRuntimes", targets: ["AerieRuntimes"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Primitive protocols, value types, errors, configuration and the in-memory drivers.
        .target(
            name: "AerieCore",
            dependencies: [
                .product(name: "Collections", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // Embedded drivers: tables, queue, event log on SQLite (GRDB); the file object store; the embedded bundle
        // (EmbeddedStorage), which also opens AerieVectors' file vector store.
        .target(
            name: "AerieSQLite",
            dependencies: [
                "AerieCore",
                "AerieVectors",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The scale-out drivers on PostgreSQL (postgres-nio): tables, queue, event log, object metadata, shared counters.
        .target(
            name: "AeriePostgres",
            dependencies: [
                "AerieCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The functions runtime: registry, triggers, invocation, concurrency, retries, records.
        .target(
            name: "AerieFunctions",
            dependencies: [
                "AerieCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Users, roles, bcrypt passwords, signed tokens, API keys, page sessions, sign-in throttling, on Tables.
        .target(
            name: "AerieAuth",
            dependencies: [
                "AerieCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieAuthTests",
            dependencies: ["AerieAuth", "AerieCore", "AerieTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // Streamed object bodies paced by the connection, for both HTTP front ends (the gateway and the S3 API).
        .target(
            name: "AerieStreaming",
            dependencies: [
                "AerieCore",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The gateway: routes, problem+json, OpenAPI, SSE, console pages, /metrics (auth comes from AerieAuth).
        .target(
            name: "AerieHTTP",
            dependencies: [
                "AerieCore",
                "AerieStreaming",
                "AerieAuth",
                "AerieFunctions",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        // The S3-compatible API (issue 15): SigV4, S3's XML, aws-chunked bodies, checksums and the S3 server on
        // Hummingbird (HTTPS through HummingbirdTLS).
        .target(
            name: "AerieS3",
            dependencies: [
                "AerieCore", "AerieAuth", "AerieStreaming", "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieS3Tests",
            dependencies: [
                "AerieS3", "AerieCore", "AerieAuth", "AerieSQLite", "AerieTesting",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Functions in any language (issue 18): packages deployed as zips (read on CZlib: ZIPFoundation's own CZlib
        // module clashes with ours), run as child processes that speak the AWS Lambda Runtime API (served on
        // Hummingbird per process), supervised with swift-subprocess.
        .target(
            name: "AerieRuntimes",
            dependencies: [
                "AerieCore", "AerieAuth", "AerieFunctions", "AerieHTTP", "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieRuntimesTests",
            dependencies: [
                "AerieRuntimes", "AerieAuth", "AerieCore", "AerieFunctions", "AerieTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Apps: each uses only the primitives.
        .target(
            name: "Quickstart",
            dependencies: ["AerieCore", "AerieFunctions"],
            path: "Sources/Apps/Quickstart",
            swiftSettings: strict
        ),
        // Imagine: text-to-image with a semantic prompt cache (issue 6).
        .target(
            name: "Imagine",
            dependencies: [
                "AerieAuth", "AerieCore", "AerieFunctions", "AerieHTTP", "AerieModels", "AerieStreaming", "AerieText", "AerieONNX", "AerieDiffusion",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/Apps/Imagine",
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ImagineTests",
            dependencies: [
                "Imagine", "AerieCore", "AerieFunctions", "AerieHTTP", "AerieHTTPTesting", "AerieTesting", "AerieText", "AerieVectors", "AerieDiffusion", "AerieModels",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        // The Pipeline app: CSV → preprocess → train → serve predictions, with its page.
        .target(
            name: "Pipeline",
            dependencies: ["AerieAuth", "AerieCore", "AerieFunctions", "AerieHTTP", "AerieML",
                           .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/Apps/Pipeline",
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        // Shared conformance suites every driver runs, and test fixtures.
        .target(
            name: "AerieTesting",
            dependencies: ["AerieCore", "AerieModels"],
            swiftSettings: strict
        ),
        // The one gateway test harness the platform's and the apps' tests use (apart from AerieTesting so that the
        // drivers' tests do not build Hummingbird).
        .target(
            name: "AerieHTTPTesting",
            dependencies: [
                "AerieCore", "AerieAuth", "AerieFunctions", "AerieHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "aerie",
            dependencies: [
                "AerieAuth", "AerieCore", "AerieSQLite", "AeriePostgres", "AerieFunctions", "AerieHTTP", "Quickstart", "Pipeline", "AerieML", "AerieText", "AerieDiffusion", "Imagine", "Gallery", "Faces", "Lab", "AerieMail", "AerieFaces", "AerieVectors", "AerieImaging", "AerieVision", "NeuralBenchmarks", "AerieModels", "AerieS3", "AerieRuntimes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // The CLI's own logic (`@testable import aerie`): calibration reports, the PNG line chart.
        .testTarget(
            name: "AerieCLITests",
            dependencies: ["aerie", "AerieText", "AerieModels", "AerieCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieCoreTests",
            dependencies: ["AerieCore", "AerieTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieSQLiteTests",
            dependencies: ["AerieCore", "AerieSQLite", "AerieTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AeriePostgresTests",
            dependencies: ["AerieCore", "AeriePostgres", "AerieSQLite", "AerieTesting", "AerieS3", "AerieAuth",
                           .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieFunctionsTests",
            dependencies: ["AerieCore", "AerieFunctions", "AerieSQLite", "AerieTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "QuickstartTests",
            dependencies: ["Quickstart", "AerieCore", "AerieFunctions", "AerieTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieHTTPTests",
            dependencies: [
                "AerieAuth", "AerieCore", "AerieFunctions", "AerieHTTP", "AerieHTTPTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        // Lab: catalog-validated ML experiments, draft and committed records as projections of the event log (issue 14).
        .target(
            name: "Lab",
            dependencies: [
                "AerieAuth", "AerieCore", "AerieFunctions", "AerieHTTP", "AerieML",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Apps/Lab",
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LabTests",
            dependencies: [
                "Lab", "AerieCore", "AerieFunctions", "AerieHTTP", "AerieHTTPTesting", "AerieTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Gallery: photos with automatic tags, search by meaning, duplicates, thumbnails, share links (issue 13).
        .target(
            name: "Gallery",
            dependencies: [
                "AerieAuth", "AerieCore", "AerieFunctions", "AerieHTTP", "AerieImaging", "AerieModels", "AerieONNX", "AerieStreaming", "AerieText", "AerieVision",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Apps/Gallery",
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GalleryTests",
            dependencies: [
                "Gallery", "AerieCore", "AerieFunctions", "AerieHTTP", "AerieHTTPTesting", "AerieImaging", "AerieTesting", "AerieText", "AerieModels",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "AerieCore", "AerieFunctions", "AerieHTTPTesting", "AerieML", "AerieTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // OpenBLAS through its C interface (Debian: libopenblas-dev).
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // zlib through its C interface (Debian: zlib1g-dev): PNG images and compressed model files.
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Image codecs in C over Debian's libjpeg-turbo, libpng, libwebp and libexif (C because libjpeg reports errors
        // with longjmp).
        .target(
            name: "CAerieImageCodecs",
            path: "Sources/CAerieImageCodecs",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp"), .linkedLibrary("exif")]
        ),
        // Images: format sniffing, checked decoding (415/413/422), EXIF orientation, resizing, JPEG thumbnails,
        // perceptual hashes, location stripping.
        .target(
            name: "AerieImaging",
            dependencies: ["AerieCore", "CAerieImageCodecs"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieImagingTests",
            dependencies: ["AerieImaging", "AerieCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // Tabular machine learning: CSV, preprocessing, models, metrics, the model file.
        .target(
            name: "AerieML",
            dependencies: ["COpenBLAS", "CZlib"],
            swiftSettings: strict
        ),
        // The Swift side of `make bench-tabular` (bench/tabular.py runs it next to scikit-learn).
        .executableTarget(
            name: "aerie-bench-tabular",
            dependencies: ["AerieML"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieMLTests",
            dependencies: ["AerieML", "CZlib"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // Models: the catalog, the store under <data>/models, installs from pinned PyPI archives (wheels and
        // source archives), the ONNX graphs built at install, and the one place that finds ONNX Runtime.
        .target(
            name: "AerieModels",
            dependencies: [
                "AerieCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieModelsTests",
            dependencies: ["AerieModels", "AerieCore", "AerieTesting"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // Text: the WordPiece tokenizer and the MiniLM sentence encoder on OpenBLAS (or ONNX Runtime).
        .target(
            name: "AerieText",
            dependencies: [
                "AerieCore",
                "AerieModels",
                "AerieONNX",
                "COpenBLAS",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieTextTests",
            dependencies: ["AerieText", "AerieModels", "AerieONNX", "AerieCore", "AerieML", "AerieTesting", .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // The Vectors primitive: exact top-k on BLAS, metadata filters, snapshot + append-log files.
        // The vector kernels in C: an AVX2+FMA inner product chosen at run time, and prefetch hints.
        .target(name: "CAerieKernels", path: "Sources/CAerieKernels"),
        .target(
            name: "AerieVectors",
            dependencies: ["AerieCore", "COpenBLAS", "CAerieKernels"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieVectorsTests",
            dependencies: ["AerieVectors", "AerieCore", "AerieTesting"],
            swiftSettings: strict
        ),
        // ONNX Runtime's C API, loaded with dlopen from the onnxruntime wheel's shared library.
        .target(
            name: "AerieONNX",
            dependencies: ["AerieCore", "AerieModels"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieONNXTests",
            dependencies: ["AerieONNX", "AerieModels", "AerieCore", "AerieTesting"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // The Swift side of `make bench-neural` (bench/neural.py runs it next to numpy, ONNX Runtime Python and faiss).
        .executableTarget(
            name: "aerie-bench-neural",
            dependencies: ["AerieModels", "AerieText", "NeuralBenchmarks"],
            swiftSettings: strict
        ),
        // The in-process neural benchmark shared by aerie-bench-neural and `aerie bench neural`.
        .target(
            name: "NeuralBenchmarks",
            dependencies: ["AerieCore", "AerieModels", "AerieText", "AerieVectors", "AerieONNX"],
            swiftSettings: strict
        ),
        // Text-to-image: the CLIP tokenizer, numpy's RandomState, the schedulers and the Stable Diffusion pipeline on AerieONNX.
        .target(
            name: "AerieDiffusion",
            dependencies: ["AerieCore", "AerieModels", "AerieONNX", "CZlib"],
            swiftSettings: strict
        ),
        // Images: the EfficientNet-Lite0 classifier (preprocessing, ONNX Runtime) on decoded RGB8 pixels.
        .target(
            name: "AerieVision",
            dependencies: ["AerieCore", "AerieModels", "AerieONNX"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieVisionTests",
            dependencies: ["AerieVision", "AerieModels", "AerieONNX", "AerieCore", "AerieTesting"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // dlib (Debian: libdlib-dev) behind a C API for AerieFaces. -O2 even in debug builds: dlib's detectors and
        // networks are header templates, about 150× slower at -O0; dlib's headers call BLAS and LAPACK directly.
        .target(
            name: "CAerieFaces",
            path: "Sources/CAerieFaces",
            // -march=native: dlib's HOG code lives in its headers and picks its SIMD paths (SSE4, AVX) from the compiler's
            // flags, so the shim is built for the CPU that builds it (about 20% faster detection here than the x86-64
            // baseline); a binary meant for other CPUs should be built without it.
            cxxSettings: [.define("DLIB_DISABLE_ASSERTS"), .unsafeFlags(["-O2", "-march=native"])],
            linkerSettings: [.linkedLibrary("dlib"), .linkedLibrary("blas"), .linkedLibrary("lapack")]
        ),
        // Faces: dlib's HOG (or CNN) detection, 5-point landmarks and 128-d embeddings on RGB8 pixels (issue 20).
        .target(
            name: "AerieFaces",
            dependencies: ["AerieCore", "AerieModels", "CAerieFaces"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieFacesTests",
            dependencies: ["AerieFaces", "AerieImaging", "AerieModels", "AerieCore", "AerieTesting"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // Email: a small SMTP client on SwiftNIO and NIOSSL (STARTTLS, AUTH PLAIN/LOGIN); no Swift SMTP library is
        // in the package copy.
        .target(
            name: "AerieMail",
            dependencies: [
                "AerieCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieMailTests",
            dependencies: [
                "AerieMail", "AerieCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Faces: enrol, recognize, verify, detect, cluster unknown faces, notify watchers (issue 20).
        .target(
            name: "Faces",
            dependencies: [
                "AerieAuth", "AerieCore", "AerieFaces", "AerieFunctions", "AerieHTTP", "AerieImaging", "AerieMail", "AerieModels", "AerieStreaming",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/Apps/Faces",
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FacesTests",
            dependencies: [
                "Faces", "AerieCore", "AerieFaces", "AerieFunctions", "AerieHTTP", "AerieHTTPTesting", "AerieImaging", "AerieMail", "AerieModels", "AerieTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        // The Swift side of `make bench-imagine-steps` (bench/imagine_steps.py runs it next to ONNX Runtime Python).
        .executableTarget(
            name: "aerie-bench-imagine",
            dependencies: ["AerieDiffusion", "AerieModels", "AerieONNX"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AerieDiffusionTests",
            dependencies: [
                "AerieDiffusion", "AerieModels", "AerieONNX", "AerieText", "AerieCore", "AerieTesting",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
    ]
)
