/// Renders rows as a plain-text table with left-aligned, space-padded columns, the way
/// every `tern` command prints for humans (`--json` prints machine output instead).
struct TablePrinter {
    let headers: [String]
    private(set) var rows: [[String]] = []

    init(_ headers: String...) { self.headers = headers }
    init(headers: [String]) { self.headers = headers }

    mutating func add(_ cells: [String]) { rows.append(cells) }

    func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count {
                widths[i] = max(widths[i], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}
