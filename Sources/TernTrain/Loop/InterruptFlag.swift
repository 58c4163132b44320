import Foundation
import Synchronization

/// Ctrl-C during training: the SIGINT handler only sets a flag; the loop finishes its step,
/// writes a checkpoint and exits with status 130.
public enum InterruptFlag {
    private static let raised = Atomic<Bool>(false)

    /// Installs the handler (a second Ctrl-C while the flag is set still just sets it).
    public static func install() {
        signal(SIGINT) { _ in InterruptFlag.raised.store(true, ordering: .relaxed) }
    }

    public static var isRaised: Bool { raised.load(ordering: .relaxed) }
}
