import Foundation
import TernSupport

/// The draws the fine-tune simulation makes, written out so that a seed gives the same run
/// whatever the standard library's own sampling does.
extension SplitMix64 {
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Log-uniform in the (positive) range: as many devices per factor of speed.
    mutating func logUniform(_ range: ClosedRange<Double>) -> Double {
        exp(log(range.lowerBound) + unit() * (log(range.upperBound) - log(range.lowerBound)))
    }

    /// `count` distinct numbers below `total` (a partial Fisher–Yates shuffle).
    mutating func pick(_ count: Int, of total: Int) -> ArraySlice<Int> {
        var order = Array(0..<total)
        for index in 0..<min(count, total) {
            order.swapAt(index, index + Int(next() % UInt64(total - index)))
        }
        return order.prefix(count)
    }
}
