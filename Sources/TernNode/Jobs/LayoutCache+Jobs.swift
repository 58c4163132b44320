import Foundation
import TernModel

extension LayoutCache {
    /// The layout cache jobs load models through: `$TERN_LAYOUT_CACHE` (`off` disables it),
    /// else `~/.cache/tern/layouts`, as the CLI's commands do. A worker that runs round after
    /// round of a fine-tune on the same model repacks it once.
    static var forJobs: LayoutCache? {
        standard(environment: ProcessInfo.processInfo.environment, home: NSHomeDirectory())
    }
}
