import ArgumentParser
import CrucibleReport
import Foundation

/// `crucible report`: bench and verify result directories rendered for people (HTML) and for a CI step summary
/// (Markdown).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render bench and verify result directories as one self-contained HTML page (and a Markdown summary).",
        discussion: """
        Give several bench directories to compare them run by run (the first is the baseline); they must share at \
        least one workload and driver. Charts are inline SVG: the page needs no network.
        """)

    @Argument(help: "Result directories written by `crucible bench` or `crucible verify`.") var directories: [String] = []
    @Option(name: .long, help: "The HTML file to write.") var output: String?
    @Option(name: .long, help: "Also write a short Markdown summary here (a CI job's step summary).") var markdown: String?

    func run() throws {
        guard !directories.isEmpty else { throw UsageError("report: name at least one result directory") }
        guard let output else { throw UsageError("report: --output FILE.html is required") }
        guard output.hasSuffix(".html") || output.hasSuffix(".htm") else { throw UsageError("--output \(output): expected an .html file") }
        let report: Report
        do {
            report = try Report(directories: directories, output: output)
        } catch let error as ReportInputError {
            throw UsageError(error.description)
        }
        try write(report.html(), to: output, flag: "--output")
        if let markdown { try write(report.markdown(), to: markdown, flag: "--markdown") }
        print("report: \(output)")
    }

    private func write(_ text: String, to path: String, flag: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw UsageError("\(flag) \(path): \(error.localizedDescription)")
        }
    }
}
