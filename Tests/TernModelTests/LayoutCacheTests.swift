import Foundation
import Testing
import TernKernels
import TernModel

/// The on-disk layout cache: a cached load must be indistinguishable from a cold one, and a
/// cache file that does not match the model's bytes, or does not validate, is rebuilt.
@Suite("Layout cache")
struct LayoutCacheTests {
    private let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tern-layout-\(UUID().uuidString)")
    private let tokens: [Int32] = [504, 3575, 282]

    private var cache: LayoutCache { LayoutCache(directory: scratch.appendingPathComponent("layouts").path) }

    private func logits(_ model: TransformerModel) throws -> [Float] {
        try InferenceSession(model: model, contextLength: 8, pool: ThreadPool(threads: 2)).forward(tokens, logits: .all)
    }

    /// A private copy of the bitnet-tiny fixture that a test may rewrite.
    private func tinyCopy() throws -> String {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let path = scratch.appendingPathComponent("tiny.gguf").path
        try FileManager.default.copyItem(atPath: try TestFixtures.modelPath(TestFixtures.bitnetTiny), toPath: path)
        return path
    }

    private func layoutFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cache.directory).filter { $0.hasSuffix(".layout") }.sorted()
    }

    private func patch(_ path: String, at offset: UInt64, _ bytes: [UInt8]) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: bytes)
        try handle.close()
    }

    @Test("a cached load of bitnet-tiny gives the logits of a cold load", arguments: [false, true])
    func cachedLoadGivesTheLogitsOfAColdLoad(quantizeFloatHead: Bool) throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let path = try TestFixtures.modelPath(TestFixtures.bitnetTiny)
        let cold = try TransformerModel(path: path, quantizeFloatHead: quantizeFloatHead)
        let first = try TransformerModel(path: path, quantizeFloatHead: quantizeFloatHead, pool: ThreadPool(threads: 2), layoutCache: cache)
        let second = try TransformerModel(path: path, quantizeFloatHead: quantizeFloatHead, layoutCache: cache)
        guard case .rebuilt(let written, .noFile, nil) = first.layoutCacheOutcome else {
            Issue.record("first load: \(first.layoutCacheOutcome)")
            return
        }
        #expect(second.layoutCacheOutcome == .hit(path: written))
        let expected = try logits(cold)
        #expect(try logits(first) == expected)
        #expect(try logits(second) == expected)
        // The other precisions read the same views (float32 decodes rows of T5 to floats).
        for precision in [MatmulPrecision.int16Activations, .float32] {
            let a = try InferenceSession(model: cold, contextLength: 8, precision: precision).forward(tokens)
            let b = try InferenceSession(model: second, contextLength: 8, precision: precision).forward(tokens)
            #expect(a == b, "\(precision)")
        }
    }

    @Test("a model with nothing in engine layout (SmolLM2 Q4_1) is neither hashed nor cached")
    func modelWithoutTernaryTensorsLeavesNoFile() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let path = try TestFixtures.modelPath(TestFixtures.smolLM2)
        let model = try TransformerModel(path: path, quantizeFloatHead: true, layoutCache: cache)
        #expect(model.layoutCacheOutcome == .unused)
        #expect(!FileManager.default.fileExists(atPath: cache.directory))
        #expect(try logits(model) == logits(try TransformerModel(path: path)))
    }

    @Test("a changed model file, same size with other bytes, names another cache file and is repacked")
    func changedModelIsRepacked() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let path = try tinyCopy()
        _ = try TransformerModel(path: path, layoutCache: cache)
        #expect(try TransformerModel(path: path, layoutCache: cache).layoutCacheOutcome.isHit)
        let before = try logits(try TransformerModel(path: path, layoutCache: cache))

        // Rewrite one byte of a ternary tensor in place with four other valid TQ2_0 codes.
        let file = try GGUFFile(path: path)
        let q = try #require(file.tensor(named: "blk.0.attn_q.weight"))
        let old = file.data(of: q)[0]
        try patch(path, at: UInt64(q.fileOffset), [old == 0b10_01_00_10 ? 0b01_00_10_01 : 0b10_01_00_10])
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(size == (try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.bitnetTiny)).fileSize))

        let changed = try TransformerModel(path: path, layoutCache: cache)
        guard case .rebuilt(_, .noFile, nil) = changed.layoutCacheOutcome else {
            Issue.record("after the change: \(changed.layoutCacheOutcome)")
            return
        }
        let expected = try logits(try TransformerModel(path: path))
        #expect(try logits(changed) == expected)
        #expect(expected != before)
        #expect(try layoutFiles().count == 2)
        #expect(try TransformerModel(path: path, layoutCache: cache).layoutCacheOutcome.isHit)
    }

    @Test("a truncated, corrupt or other-version cache file is rejected and rewritten")
    func invalidCacheFilesAreRebuilt() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let path = try TestFixtures.modelPath(TestFixtures.bitnetTiny)
        let expected = try logits(try TransformerModel(path: path))
        guard case .rebuilt(let file, _, nil) = try TransformerModel(path: path, layoutCache: cache).layoutCacheOutcome else {
            Issue.record("no cache file written")
            return
        }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        // Offsets from LayoutCacheFormat: 16 version, 64 the table, 4096 the first entry.
        let damage: [(String, () throws -> Void)] = [
            ("truncated", { try FileHandle(forWritingTo: URL(fileURLWithPath: file)).truncate(atOffset: UInt64(size - 1)) }),
            ("emptied", { try FileHandle(forWritingTo: URL(fileURLWithPath: file)).truncate(atOffset: 0) }),
            ("first payload byte", { try patch(file, at: 4096, [0x5A]) }),
            ("last payload byte", { try patch(file, at: UInt64(size - 1), [0x5A]) }),
            ("table byte", { try patch(file, at: 70, [0xFF]) }),
            ("format version", { try patch(file, at: 16, [99, 0, 0, 0]) }),
        ]
        for (what, damageIt) in damage {
            try damageIt()
            let model = try TransformerModel(path: path, layoutCache: cache)
            guard case .rebuilt(file, .invalid, nil) = model.layoutCacheOutcome else {
                Issue.record("\(what): \(model.layoutCacheOutcome)")
                continue
            }
            #expect(try TransformerModel(path: path, layoutCache: cache).layoutCacheOutcome == .hit(path: file), "\(what)")
            if what == "last payload byte" { #expect(try logits(model) == expected) }
        }
    }

    @Test("refresh rebuilds a valid file; a cache that cannot be written still loads the model")
    func refreshAndUnwritableDirectory() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let path = try TestFixtures.modelPath(TestFixtures.bitnetTiny)
        _ = try TransformerModel(path: path, layoutCache: cache)
        var refresh = cache
        refresh.refresh = true
        guard case .rebuilt(_, .refreshRequested, nil) = try TransformerModel(path: path, layoutCache: refresh).layoutCacheOutcome else {
            Issue.record("refresh did not rebuild")
            return
        }
        let blocker = scratch.appendingPathComponent("file")
        try Data([1]).write(to: blocker)
        let unwritable = try TransformerModel(path: path, layoutCache: LayoutCache(directory: blocker.path + "/layouts"))
        guard case .rebuilt(_, .noFile, let error?) = unwritable.layoutCacheOutcome else {
            Issue.record("unwritable: \(unwritable.layoutCacheOutcome)")
            return
        }
        #expect(error.contains("cannot create"))
        #expect(try logits(unwritable) == logits(try TransformerModel(path: path)))
    }

    @Test("a store trims the directory to its byte limit, least recently used first")
    func storeTrimsOldFiles() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let path = try TestFixtures.modelPath(TestFixtures.bitnetTiny)
        var small = cache
        small.byteLimit = 1
        guard case .rebuilt(let plain, _, nil) = try TransformerModel(path: path, layoutCache: small).layoutCacheOutcome,
              case .rebuilt(let withHead, _, nil) = try TransformerModel(path: path, quantizeFloatHead: true, layoutCache: small).layoutCacheOutcome
        else {
            Issue.record("no cache files written")
            return
        }
        #expect(plain != withHead)
        #expect(try layoutFiles() == [URL(fileURLWithPath: withHead).lastPathComponent])
    }

    @Test func standardCacheFollowsTheEnvironment() {
        #expect(LayoutCache.standard(environment: [:], home: "/home/u")?.directory == "/home/u/.cache/tern/layouts")
        #expect(LayoutCache.standard(environment: ["TERN_LAYOUT_CACHE": "/x"], home: "/home/u")?.directory == "/x")
        #expect(LayoutCache.standard(environment: ["TERN_LAYOUT_CACHE": "off"], home: "/home/u") == nil)
    }
}

extension LayoutCacheOutcome {
    var isHit: Bool {
        if case .hit = self { return true }
        return false
    }
}
