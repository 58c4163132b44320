import Testing
import CTernary
import TernKernels

@Suite struct ThreadPoolTests {
    @Test func everyTaskRunsExactlyOnce() {
        for threads in [1, 2, 3, 4] {
            let pool = ThreadPool(threads: threads)
            #expect(pool.threadCount == threads)
            var counts = [Int32](repeating: 0, count: 997)
            counts.withUnsafeMutableBufferPointer { buf in
                for _ in 0..<20 {
                    tern_pool_run(pool.raw, Int32(buf.count), { ctx, task, _ in
                        let p = ctx!.assumingMemoryBound(to: Int32.self)
                        p[Int(task)] += 1
                    }, buf.baseAddress)
                }
            }
            #expect(counts.allSatisfy { $0 == 20 })
        }
    }

    @Test func cpuFeaturesNamesAreConsistent() {
        let f = CPUFeatures.current
        #expect(f.names.count == f.rawValue.nonzeroBitCount)
    }
}
