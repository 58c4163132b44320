// swift-tools-version: 6.0
// Tern: a peer-to-peer compute node for ternary (BitNet b1.58) language models.
// Module layout follows docs/DESIGN (see docs/design.md): data flows one way,
// tern (CLI) → TernNode → TernMesh / TernLedger / TernTrain → TernModel → TernKernels → CTernary.
import PackageDescription

let package = Package(
    name: "Tern",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tern", targets: ["tern"]),
        .library(name: "TernKernels", targets: ["TernKernels"]),
        .library(name: "TernModel", targets: ["TernModel"]),
        .library(name: "TernMesh", targets: ["TernMesh"]),
        .library(name: "TernLedger", targets: ["TernLedger"]),
        .library(name: "TernNode", targets: ["TernNode"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // libsodium, used for every signature, key exchange and encrypted stream.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // Hot kernels in C: one scalar reference per op, one file per ISA variant,
        // picked at run time with __attribute__((target)) + CPU feature checks.
        .target(name: "CTernary"),
        // The few pure helpers every layer shares (the seeded generator), below everything.
        .target(name: "TernSupport"),
        .target(name: "TernKernels", dependencies: ["CTernary"]),
        .target(name: "TernModel", dependencies: ["TernKernels", "TernSupport"]),
        .target(name: "TernTrain", dependencies: ["TernModel", "TernKernels", "TernSupport"]),
        .target(name: "TernMesh", dependencies: [
            "CSodium", "TernSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The pure core of distributed work: the fine-tune scheduler and the outer optimizer.
        .target(name: "TernTasks", dependencies: ["TernSupport"]),
        .target(name: "TernLedger", dependencies: [
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .target(name: "TernNode", dependencies: [
            "TernSupport", "TernMesh", "TernTasks", "TernLedger", "TernTrain", "TernModel", "TernKernels",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            // /metrics: swift-metrics types fed to a Prometheus registry each daemon owns.
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            // The API client of `tern run --node` / `tern chat --node` (APIClient/).
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .executableTarget(name: "tern", dependencies: [
            "TernSupport", "TernNode", "TernMesh", "TernTasks", "TernLedger", "TernTrain", "TernModel", "TernKernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "TernKernelsTests", dependencies: ["TernKernels", "CTernary", "TernSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TernModelTests", dependencies: ["TernModel"]),
        .testTarget(name: "TernMeshTests", dependencies: ["TernMesh", "TernSupport"]),
        .testTarget(name: "TernLedgerTests", dependencies: ["TernLedger"]),
        .testTarget(name: "TernTasksTests", dependencies: ["TernTasks"]),
        .testTarget(name: "TernTrainTests", dependencies: ["TernTrain"]),
        .testTarget(name: "TernNodeTests", dependencies: ["TernNode", "TernMesh", "TernTasks", "TernLedger", "TernSupport", "TernKernels", "TernModel"]),
    ]
)
