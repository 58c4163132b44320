/// How a training file is laid out (`tern finetune --format`).
public enum TrainingDataFormat: String, Sendable, CaseIterable, Codable {
    /// Plain text: the whole file is one document, every token is learned.
    case text
    /// JSONL, one conversation a line: `{"messages":[{"role":…,"content":…},…]}`, rendered
    /// with the model's chat template; only assistant replies (and their end-of-turn token)
    /// are learned.
    case chat
    /// JSONL, one pair a line: `{"prompt":…,"completion":…}`; only the completion (and the
    /// end-of-sequence token after it) is learned.
    case completion
}
