/// One decoder under fuzzing (`tern fuzz NAME`): the valid inputs mutations start from, and
/// a way to feed it any bytes at all.
///
/// `consume` must never trap, whatever the input: a decoder that reads bytes from the network
/// or a file either accepts them or throws. A trap kills the fuzzing process, which is how a
/// crash is reported. Where the format promises more (a canonical encoding, a signature only
/// its key holder can make), `consume` checks it on every accepted input and reports a
/// broken promise as a `violation`.
public protocol FuzzTarget {
    /// The name on the command line.
    var name: String { get }
    /// Valid inputs built with the public encoders; the fuzzer mutates these.
    var samples: [[UInt8]] { get }
    /// Runs the decoder on `input` and says what it made of it.
    mutating func consume(_ input: [UInt8]) -> FuzzVerdict
}

/// What a decoder made of one fuzz input. Labels group outcomes in the report (an error's
/// case name, a message kind), so they should come from a small, fixed set.
public enum FuzzVerdict: Equatable, Sendable {
    case accepted(String)
    case rejected(String)
    /// The input was accepted but broke an invariant of the format; the text says which.
    case violation(String)
}
