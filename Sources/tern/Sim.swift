import ArgumentParser
import Foundation
import TernMesh

/// `tern sim …`: deterministic simulations of the mesh protocols and the fine-tune scheduler.
struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate the mesh protocols and the fine-tune scheduler on virtual time.",
        subcommands: [SimGossip.self, SimFinetune.self]
    )
}

/// `tern sim gossip`: N SWIM nodes on a lossy, churning virtual network.
struct SimGossip: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gossip",
        abstract: "Simulate SWIM membership and profile gossip among N nodes.",
        discussion: """
            Runs N real SWIM state machines on a deterministic virtual network (same seed, same
            result) and reports how fast a profile update reaches every node, gossip bytes per
            node per second, how long a crash takes to be known everywhere, and false dead
            declarations. Messages are really encoded; signatures are counted but not computed.
            """
    )

    @Option(help: "Number of nodes.") var nodes = 1_000
    @Option(help: "Probability that any one message is lost (0…1).") var loss = 0.0
    @Option(help: "Probability per node per virtual second of crashing (0…1).") var churn = 0.0
    @Option(help: "Seconds a crashed node stays down before restarting.") var downtime = 120
    @Option(help: "Virtual seconds to simulate.") var seconds = 600
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Cut the network in two, sized A/B (e.g. 1/1 halves, 3/1 three quarters and a quarter).") var partition: String?
    @Option(help: "Virtual second at which --partition cuts the network.") var partitionAt = 30
    @Option(help: "Seconds after the cut at which the network is restored.") var healAfter = 60
    @Flag(help: "Print the report as JSON.") var json = false

    /// The share of nodes on side A of `--partition A/B`.
    func partitionFraction() throws -> Double? {
        guard let partition else { return nil }
        let parts = partition.split(separator: "/").map { Double($0) }
        guard parts.count == 2, let a = parts[0], let b = parts[1], a > 0, b > 0 else {
            throw ValidationError("--partition takes A/B with two positive sizes, e.g. 1/1, got '\(partition)'")
        }
        return a / (a + b)
    }

    func validate() throws {
        guard nodes >= 2 else { throw ValidationError("--nodes must be at least 2, got \(nodes)") }
        guard (0...1).contains(loss) else { throw ValidationError("--loss must be between 0 and 1, got \(loss)") }
        guard (0...1).contains(churn) else { throw ValidationError("--churn must be between 0 and 1, got \(churn)") }
        guard seconds >= 1 else { throw ValidationError("--seconds must be at least 1, got \(seconds)") }
        guard downtime >= 1 else { throw ValidationError("--downtime must be at least 1, got \(downtime)") }
        _ = try partitionFraction()
        if partition != nil {
            guard partitionAt >= 1, healAfter >= 1, partitionAt + healAfter < seconds else {
                throw ValidationError("--partition-at (\(partitionAt)) + --heal-after (\(healAfter)) must end before --seconds (\(seconds))")
            }
        }
    }

    func run() async throws {
        var configuration = GossipSimulation.Configuration()
        configuration.nodes = nodes
        configuration.lossProbability = loss
        configuration.churnPerSecond = churn
        configuration.downtimeSeconds = downtime
        configuration.seconds = seconds
        configuration.seed = seed
        configuration.partitionFraction = try partitionFraction()
        configuration.partitionAtSecond = partitionAt
        configuration.healAfterSeconds = healAfter
        let started = Date()
        let showProgress = isatty(STDERR_FILENO) == 1
        let report = GossipSimulation.run(configuration) { second in
            guard showProgress, second > 0, second % 5 == 0 || second == seconds else { return }
            let elapsed = Date().timeIntervalSince(started)
            let eta = elapsed / Double(second) * Double(seconds - second)
            FileHandle.standardError.write(Data(String(format: "\r  simulated %d/%d s  (%.1f virtual s per s, ETA %.0f s)  ",
                                                       second, seconds, Double(second) / elapsed, eta).utf8))
        }
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let elapsed = Date().timeIntervalSince(started)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        func periods(_ value: Double) -> String { value < 0 ? "never" : String(format: "%.1f", value) }
        print("""
            nodes \(report.nodes), \(report.seconds) virtual s, loss \(report.loss), churn \(report.churn)/node/s (ran in \(String(format: "%.1f", elapsed)) s)
            profile updates:      \(report.profile_updates); worst periods to 99% \(periods(report.periods_to_99)), to all \(periods(report.periods_to_all))
            gossip bytes/node/s:  \(String(format: "%.0f", report.bytes_per_node_per_s))  (push-pull over TCP: \(String(format: "%.0f", report.pushpull_bytes_per_node_per_s)))
            crashes:              \(report.crashes), detected everywhere \(report.crashes_detected), p99 \(String(format: "%.1f", report.detect_periods_p99)) periods
            false dead:           \(report.false_dead)
            messages:             \(report.messages_sent) sent, \(report.messages_lost) lost
            """)
        if partition != nil {
            print("""
                partition:            sides counted each other out after \(periods(report.partition_split_periods)) periods; \
                one mesh again \(periods(report.partition_heal_periods)) periods after the heal
                """)
        }
    }
}
