import Foundation
import TernMesh
import TernNode
import Testing

/// What a child process measured of the network while model work held every core on a
/// `ComputeExecutor`.
struct NetworkUnderExecutorLoad: Codable {
    var handshakeMilliseconds: [Double]
    var roundTripMilliseconds: [Double]
    var computeThreads: Int
    /// Average number of compute threads inside a job over the measurement, from each
    /// job's start and end.
    var computeThreadsBusy: Double
    var products: Int
    /// Process CPU time over wall time: how much of the machine the load got (other
    /// processes on it take their share too).
    var coresBusy: Double
    var wallMilliseconds: Double

    var slowestHandshake: Double { handshakeMilliseconds.max() ?? .infinity }
    var slowestRoundTrip: Double { roundTripMilliseconds.max() ?? .infinity }

    var summary: String {
        let median = roundTripMilliseconds.sorted()[roundTripMilliseconds.count / 2]
        return String(format: "%d handshakes, slowest %.1f ms; %d round trips, median %.2f ms, slowest %.1f ms; "
                      + "%d GEMMs keeping %.2f of %d compute threads busy, %.2f cores used over %.0f ms",
                      handshakeMilliseconds.count, slowestHandshake, roundTripMilliseconds.count, median,
                      slowestRoundTrip, products, computeThreadsBusy, computeThreads, coresBusy, wallMilliseconds)
    }

    /// For a second and a half of GEMMs on one compute thread per core (one long job a
    /// thread, looping until the measurement ends, the way a training step holds its thread;
    /// jobs submitted one by one from the cooperative pool would leave threads idle whenever
    /// a loaded machine runs the submitters late): secure handshakes between two endpoints of
    /// this process under the production timeout, each followed by ten UDP round trips to an
    /// echo on the cooperative pool, the way gossip is answered.
    static func measure(cores: Int) async throws -> NetworkUnderExecutorLoad {
        let load = try TernaryGEMMLoad()
        let compute = ComputeExecutor(threads: cores, queueLimit: 8 * cores, name: "isolation")
        defer { compute.shutDown() }
        let stop = Locked(false)
        defer { stop.update { $0 = true } }
        let jobSpans = Locked<[Range<ContinuousClock.Instant>]>([])
        let products = Locked(0)
        let submitters = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<cores {
                    group.addTask {
                        try await compute.run {
                            let start = ContinuousClock.now
                            while !stop.current {
                                load.step()
                                products.update { $0 += 1 }
                            }
                            jobSpans.update { $0.append(start..<ContinuousClock.now) }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        try await waitUntil("every compute thread busy") { compute.occupancy.running == cores }
        let cpuAtStart = processCPUSeconds()
        let start = ContinuousClock.now

        let serverIdentity = TransportIdentity.generate(), clientIdentity = TransportIdentity.generate()
        let listener = try await SecureListener.bind(
            host: "127.0.0.1", port: 0, identity: serverIdentity, requirement: .exactly(clientIdentity.publicKey),
            protocols: ["test/1"], handshakeTimeout: SecureConnection.defaultHandshakeTimeout)
        let accepted = Locked<[SecureConnection]>([])
        let acceptor = Task { for await connection in listener.connections { accepted.update { $0.append(connection) } } }
        let echo = try await UDPEcho.start()
        let pinger = try BlockingUDPPinger()
        var handshakes: [Double] = [], roundTrips: [Double] = []
        while start.duration(to: .now) < .milliseconds(1500) {
            let dialStart = ContinuousClock.now
            let client = try await SecureConnection.connect(
                host: "127.0.0.1", port: listener.localAddress.port!, identity: clientIdentity,
                expectedPeer: serverIdentity.publicKey, protocolID: "test/1", handshakeTimeout: SecureConnection.defaultHandshakeTimeout)
            let expected = handshakes.count + 1
            try await waitUntil("the listener's side of the handshake") { accepted.current.count == expected }
            handshakes.append(dialStart.duration(to: .now).milliseconds)
            await client.close()
            for _ in 0..<10 {
                let roundTrip = try #require(await pinger.roundTrip(toPort: echo.port), "a round trip went unanswered")
                roundTrips.append(roundTrip.milliseconds)
            }
        }
        let end = ContinuousClock.now
        let coresBusy = (processCPUSeconds() - cpuAtStart) / start.duration(to: end).seconds
        stop.update { $0 = true }
        try await submitters.value

        let window = start..<end
        let busy = jobSpans.current.map { span in
            max(span.lowerBound, window.lowerBound).duration(to: min(span.upperBound, window.upperBound))
        }.filter { $0 > .zero }
        let measurement = NetworkUnderExecutorLoad(
            handshakeMilliseconds: handshakes, roundTripMilliseconds: roundTrips, computeThreads: cores,
            computeThreadsBusy: busy.reduce(.zero, +).seconds / start.duration(to: end).seconds,
            products: products.current, coresBusy: coresBusy, wallMilliseconds: start.duration(to: end).milliseconds)
        for connection in accepted.current { await connection.close() }
        await listener.close()
        await acceptor.value
        await echo.stop()
        return measurement
    }
}

/// What a child process measured of one UDP round trip while the same model work ran
/// directly on the cooperative pool, one synchronous loop per pool thread.
struct RoundTripWithCooperativePoolHeld: Codable {
    var cooperativeThreads: Int
    var loopsStarted: Int
    var idleRoundTripMilliseconds: Double
    var holdMilliseconds: Double
    var heldRoundTripMilliseconds: Double

    var summary: String {
        String(format: "idle round trip %.2f ms; with %d of %d cooperative threads running GEMMs for %.0f ms after "
               + "the ping was sent: %.1f ms", idleRoundTripMilliseconds, loopsStarted, cooperativeThreads,
               holdMilliseconds, heldRoundTripMilliseconds)
    }

    /// The loops run at the echo's priority and hold the pool until `hold` after the ping
    /// was sent; the ping goes out from a thread of its own once every loop has started.
    static func measure(cores: Int, hold: Duration = .seconds(1)) async throws -> RoundTripWithCooperativePoolHeld {
        let load = try TernaryGEMMLoad()
        let echo = try await UDPEcho.start(priority: .medium)
        let pinger = try BlockingUDPPinger()
        let idle = try #require(await pinger.roundTrip(toPort: echo.port), "the idle echo never answered")

        let started = Locked(0)
        let releaseAt = Locked<ContinuousClock.Instant?>(nil)
        let loops = (0..<cores).map { _ in
            Task.detached(priority: .medium) {
                started.update { $0 += 1 }
                while !(releaseAt.current.map { ContinuousClock.now >= $0 } ?? false) { load.step() }
            }
        }
        let held = await pinger.roundTrip(toPort: echo.port) {
            let deadline = ContinuousClock.now + .seconds(30)
            while started.current < cores, ContinuousClock.now < deadline { sched_yield() }
            releaseAt.update { $0 = .now + hold }
        }
        for loop in loops { await loop.value }
        await echo.stop()
        return RoundTripWithCooperativePoolHeld(
            cooperativeThreads: cores, loopsStarted: started.current, idleRoundTripMilliseconds: idle.milliseconds,
            holdMilliseconds: hold.milliseconds,
            heldRoundTripMilliseconds: try #require(held, "the echo never answered").milliseconds)
    }
}

/// Carries a child process's measurement back to the test in the parent through a file.
/// Not through the child's standard output: the parent reads an observed output with a
/// blocking read on the cooperative pool, which would hold one more of its threads for as
/// long as the child runs.
enum ChildReport {
    static func newPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tern-child-report-\(UUID()).json").path
    }

    static func write(_ value: some Encodable, to path: String) throws {
        try JSONEncoder().encode(value).write(to: URL(fileURLWithPath: path))
    }

    /// Reads the report and removes its file.
    static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try JSONDecoder().decode(type, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
