import Testing
import TernMesh

@Suite struct GossipSimulationTests {
    @Test func thousandNodesDisseminateFastCheaplyAndWithoutFalseDeaths() {
        var configuration = GossipSimulation.Configuration()
        configuration.nodes = 1_000
        configuration.lossProbability = 0.01
        // Updates at 5, 20 and 35 s; the run leaves the last one 10 s to spread.
        configuration.seconds = 45
        configuration.profileEverySeconds = 15
        let report = GossipSimulation.run(configuration)
        #expect(report.profile_updates == 3)
        #expect(report.periods_to_all >= 0 && report.periods_to_all <= 20)
        #expect(report.periods_to_99 <= report.periods_to_all)
        #expect(report.bytes_per_node_per_s > 100 && report.bytes_per_node_per_s <= 2_048)
        #expect(report.false_dead == 0)
        #expect(report.messages_lost > 0)
    }

    @Test func crashesAreDetectedEverywhereAndRunsAreDeterministic() {
        var configuration = GossipSimulation.Configuration()
        configuration.nodes = 100
        configuration.lossProbability = 0.02
        configuration.churnPerSecond = 0.002
        configuration.downtimeSeconds = 200
        configuration.seconds = 120
        configuration.seed = 7
        let report = GossipSimulation.run(configuration)
        #expect(report.crashes > 5)
        // Crashes spread evenly over the 120 s; one in the last minute may not be detected
        // everywhere yet (suspicion lasts 10–60 s), so at least a third must be.
        #expect(report.crashes_detected * 3 >= report.crashes)
        // n = 100: suspicion lasts 10–60 s, then the dead news spreads.
        #expect(report.detect_periods_p99 > 10 && report.detect_periods_p99 < 80)
        #expect(report.false_dead == 0)
        #expect(GossipSimulation.run(configuration) == report)
    }

    /// A network cut in two: each side counts the other out, and after the heal (dead
    /// members retried by push-pull, accusations refuted) everyone counts everyone in again.
    @Test func aPartitionSplitsAndHeals() {
        var configuration = GossipSimulation.Configuration()
        configuration.nodes = 40
        configuration.seconds = 400
        configuration.partitionFraction = 0.5
        configuration.partitionAtSecond = 10
        configuration.healAfterSeconds = 250
        let report = GossipSimulation.run(configuration)
        #expect(report.partition_split_periods > 0 && report.partition_split_periods < 250)
        #expect(report.partition_heal_periods > 0 && report.partition_heal_periods < 100)
    }
}
