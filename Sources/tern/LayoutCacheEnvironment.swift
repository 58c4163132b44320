import Foundation
import TernModel

extension LayoutCache {
    /// The layout cache of this process's environment: `$TERN_LAYOUT_CACHE` (`off`: none),
    /// else `~/.cache/tern/layouts`.
    static var forCommand: LayoutCache? {
        standard(environment: ProcessInfo.processInfo.environment, home: FileManager.default.homeDirectoryForCurrentUser.path)
    }
}
