import Foundation

/// One piece of work submitted to a `ComputeExecutor` and where it stands. Every field is
/// read and written only under the owning `ComputeJobQueue`'s lock.
final class ComputeJob: @unchecked Sendable {
    /// `running` once a compute thread claimed it, to the end.
    enum State { case submitting, queued, running, cancelled }

    var state = State.submitting
    /// Runs the work on a compute thread and returns what hands its result to the caller;
    /// the two are split so the job stops counting as running before the caller resumes.
    var perform: (() -> () -> Void)?
    /// Tells the caller the work will not run.
    var refuse: ((ComputeExecutorError) -> Void)?
}

/// The bounded first-in-first-out queue between `ComputeExecutor.run` callers and the
/// compute threads. Cancelling a job that has not started takes it out of the queue; a job
/// that has started runs to the end (synchronous kernels cannot be interrupted). One
/// condition lock guards all of it; callbacks to callers run outside the lock.
final class ComputeJobQueue: @unchecked Sendable {
    let limit: Int
    private let condition = NSCondition()
    private var waiting: [ComputeJob] = []
    private var runningCount = 0
    private var isShutDown = false
    /// Time compute threads spent in finished jobs, for `/metrics`.
    private var busy = Duration.zero

    init(limit: Int) {
        self.limit = limit
    }

    /// Queues `job`, or refuses it at once: cancelled already, shut down, or queue full.
    func submit(_ job: ComputeJob, perform: @escaping () -> () -> Void, refuse: @escaping (ComputeExecutorError) -> Void) {
        condition.lock()
        let refusal: ComputeExecutorError? =
            if job.state == .cancelled { .cancelledBeforeStart }
            else if isShutDown { .shutDown }
            else if waiting.count >= limit { .queueFull(limit: limit) }
            else { nil }
        if refusal == nil {
            job.perform = perform
            job.refuse = refuse
            job.state = .queued
            waiting.append(job)
            condition.signal()
        } else {
            job.state = .cancelled
        }
        condition.unlock()
        if let refusal { refuse(refusal) }
    }

    /// The awaiting task was cancelled: skip the job if it has not started.
    func cancel(_ job: ComputeJob) {
        condition.lock()
        var refuse: ((ComputeExecutorError) -> Void)?
        switch job.state {
        case .submitting:
            job.state = .cancelled
        case .queued:
            waiting.removeAll { $0 === job }
            job.state = .cancelled
            refuse = job.refuse
            job.perform = nil
            job.refuse = nil
        case .running, .cancelled:
            break
        }
        condition.unlock()
        refuse?(.cancelledBeforeStart)
    }

    /// Runs jobs on the calling thread, oldest first, until the queue shuts down.
    func serve() {
        while let perform = next() {
            let started = ContinuousClock.now
            let deliver = perform()
            let spent = started.duration(to: .now)
            condition.lock()
            runningCount -= 1
            busy += spent
            condition.unlock()
            deliver()
        }
    }

    /// Blocks until a job is waiting and claims it; nil once shut down.
    private func next() -> (() -> () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while waiting.isEmpty, !isShutDown { condition.wait() }
        guard !isShutDown else { return nil }
        let job = waiting.removeFirst()
        job.state = .running
        runningCount += 1
        let perform = job.perform
        job.perform = nil
        job.refuse = nil
        return perform
    }

    /// Refuses every waiting job and lets the threads exit once their current job is done.
    func shutDown() {
        condition.lock()
        isShutDown = true
        let abandoned = waiting
        waiting.removeAll()
        let refusals = abandoned.compactMap { job -> ((ComputeExecutorError) -> Void)? in
            job.state = .cancelled
            defer { job.perform = nil; job.refuse = nil }
            return job.refuse
        }
        condition.broadcast()
        condition.unlock()
        for refuse in refusals { refuse(.shutDown) }
    }

    /// Seconds the compute threads spent in jobs that have finished.
    var busySeconds: Double {
        condition.lock()
        defer { condition.unlock() }
        return busy.inSeconds
    }

    var occupancy: ComputeOccupancy {
        condition.lock()
        defer { condition.unlock() }
        return ComputeOccupancy(running: runningCount, waiting: waiting.count)
    }
}
