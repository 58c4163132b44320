import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// The metrics one daemon exposes at `/metrics` (Prometheus text format).
///
/// Metrics are swift-metrics types made by a `PrometheusMetricsFactory` bound to a registry
/// this object owns, never through the process-global `MetricsSystem.bootstrap`: tests run
/// several daemons in one process, and each must report only its own numbers.
///
/// Two kinds of figures feed it. Events the API listener and the serving engine see as they
/// happen are recorded directly (`httpRequests`, `tokensGenerated`, …). Everything the node
/// already counts elsewhere (gossip drops, members, jobs, blob bytes, compute time) is read
/// when `/metrics` is served (`update(from:)`), so no actor needs a metrics call threaded
/// through it.
public final class NodeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    // MARK: Fed by the serving engine (names are part of the API; docs/api.md)

    /// Tokens generated for completions, streamed or not.
    public let tokensGenerated: CoreMetrics.Counter
    /// Completion requests waiting for a batch slot.
    public let queueDepth: Meter
    /// Completions streaming right now.
    public let activeStreams: Meter
    /// Completion requests received (every outcome).
    public let completionRequests: CoreMetrics.Counter
    /// Time from a completion request to its last token.
    public let completionLatency: CoreMetrics.Timer

    /// Completions this node forwarded to a peer holding the model.
    public let meshForwarded: CoreMetrics.Counter
    /// Times a forwarded completion moved to another holder after its worker failed.
    public let meshFailovers: CoreMetrics.Counter

    /// Counters and gauges derived at scrape time, by full series key.
    private let derived = Mutex<DerivedSeries>(DerivedSeries())

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Seconds, from a fast API answer to a long completion.
        let latencyBuckets: [Duration] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        factory.defaultDurationHistogramBuckets = latencyBuckets
        self.factory = factory
        tokensGenerated = CoreMetrics.Counter(label: "tern_tokens_generated_total", factory: factory)
        queueDepth = Meter(label: "tern_queue_depth", factory: factory)
        activeStreams = Meter(label: "tern_active_streams", factory: factory)
        completionRequests = CoreMetrics.Counter(label: "tern_completion_requests_total", factory: factory)
        completionLatency = CoreMetrics.Timer(label: "tern_completion_latency_seconds", factory: factory)
        meshForwarded = CoreMetrics.Counter(label: "tern_mesh_forwarded_total", factory: factory)
        meshFailovers = CoreMetrics.Counter(label: "tern_mesh_failovers_total", factory: factory)
        // Present (at zero) from the first scrape, so dashboards need no special case.
        queueDepth.set(0)
        activeStreams.set(0)
    }

    // MARK: The API listener

    /// One answered HTTP request. `path` is the matched route pattern (`/v1/models`) or
    /// `unmatched`, never the raw path a client sent: one label value per route keeps a client
    /// from creating series without bound.
    public func recordRequest(path: String, method: String, status: Int, duration: Duration) {
        CoreMetrics.Counter(label: "tern_http_requests_total",
                            dimensions: [("path", path), ("method", method), ("status", "\(status)")], factory: factory)
            .increment()
        CoreMetrics.Timer(label: "tern_http_request_duration_seconds", dimensions: [("path", path)], factory: factory)
            .recordNanoseconds(Int64(clamping: duration.components.seconds * 1_000_000_000
                + duration.components.attoseconds / 1_000_000_000))
    }

    // MARK: Read at scrape time

    /// Brings every derived series up to `activity` and renders the registry.
    public func render(_ activity: NodeActivity) -> String {
        update(from: activity)
        return registry.emitToString()
    }

    /// Sets gauges to the current values and advances counters by what their source counted
    /// since the last scrape (a source that went backwards, e.g. a restarted fine-tune list,
    /// adds nothing).
    func update(from activity: NodeActivity) {
        derived.withLock { series in
            for (state, count) in activity.members {
                gauge("tern_members", [("state", state)]).record(count)
            }
            for (reason, count) in activity.gossipDrops {
                series.advance(counter("tern_gossip_dropped_total", [("reason", reason)]), key: "drop \(reason)", to: count)
            }
            for (event, count) in activity.taskEvents {
                series.advance(counter("tern_task_events_total", [("event", event)]), key: "task \(event)", to: count)
            }
            series.advance(counter("tern_jobs_run_total", []), key: "jobsRun", to: activity.jobsRun)
            series.advance(counter("tern_jobs_failed_total", []), key: "jobsFailed", to: activity.jobsFailed)
            series.advance(counter("tern_finetune_rounds_total", []), key: "rounds", to: activity.fineTuneRounds)
            gauge("tern_finetunes_running", []).record(activity.fineTunesRunning)
            for (state, count) in activity.receipts {
                gauge("tern_receipts", [("state", state)]).record(count)
            }
            series.advance(counter("tern_blob_bytes_received_total", []), key: "bytesIn", to: activity.blobBytesReceived)
            series.advance(counter("tern_blob_bytes_served_total", []), key: "bytesOut", to: activity.blobBytesServed)
            series.advance(FloatingPointCounter(label: "tern_compute_busy_seconds_total", factory: factory),
                           key: "busy", to: activity.computeBusySeconds)
            gauge("tern_compute_jobs", [("state", "running")]).record(activity.computeRunning)
            gauge("tern_compute_jobs", [("state", "waiting")]).record(activity.computeWaiting)
            gauge("tern_uptime_seconds", []).record(activity.uptimeSeconds)
        }
    }

    private func counter(_ name: String, _ labels: [(String, String)]) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: name, dimensions: labels, factory: factory)
    }

    private func gauge(_ name: String, _ labels: [(String, String)]) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: name, dimensions: labels, factory: factory)
    }
}

/// The last value seen of every counter derived at scrape time.
struct DerivedSeries {
    private var seen: [String: Double] = [:]

    mutating func advance(_ counter: CoreMetrics.Counter, key: String, to value: Int) {
        let step = Double(value) - seen[key, default: 0]
        guard step > 0 else { return }
        seen[key] = Double(value)
        counter.increment(by: Int64(step))
    }

    mutating func advance(_ counter: FloatingPointCounter, key: String, to value: Double) {
        let step = value - seen[key, default: 0]
        guard step > 0 else { return }
        seen[key] = value
        counter.increment(by: step)
    }
}

/// What the node has counted so far, gathered for one scrape.
public struct NodeActivity: Sendable, Equatable {
    /// Members other than this node, by SWIM state (alive, suspect, dead).
    public var members: [String: Int] = [:]
    /// Gossip datagrams, records and stream connections refused, by reason.
    public var gossipDrops: [String: Int] = [:]
    /// What the task plane refused or saw go wrong, by reason (`task.busy`, `fetch.badChunk`, …).
    public var taskEvents: [String: Int] = [:]
    /// Jobs this node ran for peers, and those that failed.
    public var jobsRun = 0
    public var jobsFailed = 0
    /// Rounds completed by the fine-tunes this node dispatched, and how many still run.
    public var fineTuneRounds = 0
    public var fineTunesRunning = 0
    /// Receipts in the ledger by state (accepted, pending, revoked).
    public var receipts: [String: Int] = [:]
    public var blobBytesReceived = 0
    public var blobBytesServed = 0
    /// Seconds the compute executor's threads spent on work, and its occupancy now.
    public var computeBusySeconds = 0.0
    public var computeRunning = 0
    public var computeWaiting = 0
    public var uptimeSeconds = 0.0

    public init() {}
}
