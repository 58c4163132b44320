import Foundation
import Testing

/// Model work on the compute executor leaves the network answering: secure handshakes
/// and gossip-style UDP round trips stay fast while ternary GEMMs hold every core. The
/// second test runs the same work on the cooperative pool and shows it holds a round trip
/// back for as long as it runs.
///
/// Each measurement runs as an exit test, in a child process of its own: the other tests of
/// this process hold the cooperative pool with their own synchronous work, and that delay
/// would be measured instead. The child reports its figures through a file; the parent
/// judges them.
@Suite(.serialized) struct ComputeIsolationTests {
    static let cores = ProcessInfo.processInfo.activeProcessorCount

    @Test func handshakesAndRoundTripsAreAnsweredWhileModelWorkHoldsEveryCore() async throws {
        let report = ChildReport.newPath()
        await #expect(processExitsWith: .success) { [report = report as String] in
            try ChildReport.write(try await NetworkUnderExecutorLoad.measure(cores: Self.cores), to: report)
        }
        let measured = try ChildReport.read(NetworkUnderExecutorLoad.self, from: report)
        Self.showInVerboseRuns("compute executor busy: \(measured.summary)")

        // Each compute thread runs one job that loops until the measurement ends, so the
        // threads are inside model work for the whole window however loaded the machine is.
        #expect(measured.computeThreadsBusy >= 0.9 * Double(measured.computeThreads),
                "the load must hold every compute thread: \(measured.summary)")
        #expect(measured.products > 0, "\(measured.summary)")
        #expect(measured.handshakeMilliseconds.count >= 2, "\(measured.summary)")
        #expect(measured.slowestHandshake < 10_000, "production handshake timeout: \(measured.summary)")
        #expect(measured.slowestRoundTrip < 500, "\(measured.summary)")
    }

    @Test func theSameWorkOnTheCooperativePoolHoldsARoundTripBack() async throws {
        let report = ChildReport.newPath()
        await #expect(processExitsWith: .success) { [report = report as String] in
            try ChildReport.write(try await RoundTripWithCooperativePoolHeld.measure(cores: Self.cores), to: report)
        }
        let measured = try ChildReport.read(RoundTripWithCooperativePoolHeld.self, from: report)
        Self.showInVerboseRuns("cooperative pool busy: \(measured.summary)")

        #expect(measured.loopsStarted == measured.cooperativeThreads, "\(measured.summary)")
        #expect(measured.heldRoundTripMilliseconds >= 0.9 * measured.holdMilliseconds,
                "answered although every cooperative thread was held: \(measured.summary)")
    }

    /// Prints the figures when `TERN_TEST_VERBOSE` is set.
    static func showInVerboseRuns(_ line: String) {
        if ProcessInfo.processInfo.environment["TERN_TEST_VERBOSE"] != nil { print(line) }
    }
}
