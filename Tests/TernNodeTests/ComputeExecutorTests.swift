import Foundation
import TernNode
import Testing

/// Holds a compute thread until opened, so a test controls what is running and what waits.
final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func open() { semaphore.signal() }
    func pass() { semaphore.wait() }
}

@Suite struct ComputeExecutorTests {
    @Test func runsWorkOnANamedComputeThreadAndReturnsItsResult() async throws {
        let compute = ComputeExecutor(name: "unit-compute")
        defer { compute.shutDown() }
        let threadName = try await compute.run { Thread.current.name ?? "" }
        #expect(threadName == "unit-compute-0")
        #expect(try await compute.run { (1...10).reduce(0, +) } == 55)
    }

    @Test func errorsThrownByTheWorkReachTheCaller() async throws {
        struct Broken: Error, Equatable {}
        let compute = ComputeExecutor()
        defer { compute.shutDown() }
        await #expect(throws: Broken()) { try await compute.run { throw Broken() } }
    }

    @Test func workSpreadsOverEveryComputeThread() async throws {
        let compute = ComputeExecutor(threads: 2, name: "pair")
        defer { compute.shutDown() }
        let gates = [Gate(), Gate()]
        defer { gates.forEach { $0.open() } }
        let names = [0, 1].map { index in
            Task { try await compute.run { gates[index].pass(); return Thread.current.name ?? "" } }
        }
        // Both jobs can be running at once only on two threads.
        try await waitUntil("both jobs running") { compute.occupancy.running == 2 }
        gates.forEach { $0.open() }
        let ranOn = Set([try await names[0].value, try await names[1].value])
        #expect(ranOn == ["pair-0", "pair-1"])
    }

    @Test func cancellingAQueuedJobSkipsItWithAClearError() async throws {
        let compute = ComputeExecutor(threads: 1)
        defer { compute.shutDown() }
        let gate = Gate()
        defer { gate.open() }
        let blocker = Task { try await compute.run { gate.pass(); return "done" } }
        try await waitUntil("the blocker running") { compute.occupancy.running == 1 }

        let ran = Locked(false)
        let queued = Task { try await compute.run { ran.update { $0 = true } } }
        try await waitUntil("the second job queued") { compute.occupancy.waiting == 1 }
        queued.cancel()
        await #expect(throws: ComputeExecutorError.cancelledBeforeStart) { try await queued.value }
        #expect(compute.occupancy == ComputeOccupancy(running: 1, waiting: 0))

        gate.open()
        #expect(try await blocker.value == "done")
        try await compute.run {}  // first in, first out: the skipped job would have run before this one
        #expect(ran.current == false)
        #expect(ComputeExecutorError.cancelledBeforeStart.description.contains("did not run"))
    }

    @Test func aJobAlreadyRunningFinishesWhenItsTaskIsCancelled() async throws {
        let compute = ComputeExecutor()
        defer { compute.shutDown() }
        let gate = Gate()
        defer { gate.open() }
        let running = Task { try await compute.run { gate.pass(); return 7 } }
        try await waitUntil("the job running") { compute.occupancy.running == 1 }
        running.cancel()
        gate.open()
        #expect(try await running.value == 7)
    }

    @Test func aTaskCancelledBeforeSubmittingNeverQueues() async throws {
        let compute = ComputeExecutor()
        defer { compute.shutDown() }
        let ran = Locked(false)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await compute.run { ran.update { $0 = true } }
        }
        await #expect(throws: ComputeExecutorError.cancelledBeforeStart) { try await task.value }
        try await compute.run {}
        #expect(ran.current == false)
    }

    @Test func aFullQueueRefusesMoreWork() async throws {
        let compute = ComputeExecutor(threads: 1, queueLimit: 1)
        defer { compute.shutDown() }
        let gate = Gate()
        defer { gate.open() }
        let blocker = Task { try await compute.run { gate.pass() } }
        try await waitUntil("the blocker running") { compute.occupancy.running == 1 }
        let waiting = Task { try await compute.run { 2 } }
        try await waitUntil("one job waiting") { compute.occupancy.waiting == 1 }

        await #expect(throws: ComputeExecutorError.queueFull(limit: 1)) { try await compute.run { 3 } }
        gate.open()
        try await blocker.value
        #expect(try await waiting.value == 2)
    }

    @Test func shuttingDownRefusesQueuedAndLaterWork() async throws {
        let compute = ComputeExecutor(threads: 1)
        let gate = Gate()
        defer { gate.open() }
        let blocker = Task { try await compute.run { gate.pass(); return 1 } }
        try await waitUntil("the blocker running") { compute.occupancy.running == 1 }
        let queued = Task { try await compute.run { 2 } }
        try await waitUntil("one job waiting") { compute.occupancy.waiting == 1 }

        compute.shutDown()
        await #expect(throws: ComputeExecutorError.shutDown) { try await queued.value }
        await #expect(throws: ComputeExecutorError.shutDown) { try await compute.run { 3 } }
        gate.open()
        #expect(try await blocker.value == 1, "a running job finishes")
    }
}
