import Foundation

// crucible-protocol-gen [--schemas DIR] [--output DIR] [--test-output DIR] [--check]
// Generates CrucibleProtocol's message types (and their test samples) from Kafka's JSON schemas. With --check it
// generates into a temporary directory and fails, listing the files, if the committed output differs.

struct Options {
    var schemas = "../shared/kafka-protocol"
    var output = "Sources/CrucibleProtocol/Generated"
    var testOutput = "Tests/CrucibleProtocolTests/Generated"
    var check = false

    init(arguments: [String]) throws {
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "--check": check = true
            case "--schemas", "--output", "--test-output":
                guard let value = remaining.popFirst() else { throw GeneratorError("\(argument) needs a value") }
                switch argument {
                case "--schemas": schemas = value
                case "--output": output = value
                default: testOutput = value
                }
            default:
                throw GeneratorError("""
                    unknown argument \(argument)
                    usage: crucible-protocol-gen [--schemas DIR] [--output DIR] [--test-output DIR] [--check]
                    """)
            }
        }
    }
}

func run() throws -> Int32 {
    let options = try Options(arguments: Array(CommandLine.arguments.dropFirst()))
    let generation = try Generation(schemaDirectory: URL(fileURLWithPath: options.schemas))
    let targets = [
        (OutputDirectory(url: URL(fileURLWithPath: options.output)), generation.library),
        (OutputDirectory(url: URL(fileURLWithPath: options.testOutput)), generation.tests),
    ]
    guard options.check else {
        for (directory, files) in targets { try directory.synchronize(to: files) }
        print("generated \(generation.library.count) library files and \(generation.tests.count) test files")
        return 0
    }
    let scratch = FileManager.default.temporaryDirectory
        .appendingPathComponent("crucible-protocol-gen-\(ProcessInfo.processInfo.processIdentifier)")
    defer { try? FileManager.default.removeItem(at: scratch) }
    var stale: [String] = []
    for (index, (directory, files)) in targets.enumerated() {
        let fresh = OutputDirectory(url: scratch.appendingPathComponent("\(index)"))
        try fresh.synchronize(to: files)
        stale += directory.differences(from: fresh).map { directory.url.appendingPathComponent($0).relativePath }
    }
    if stale.isEmpty {
        print("generated code is up to date")
        return 0
    }
    print("generated code is stale; run `swift run crucible-protocol-gen`. Differing files:")
    stale.forEach { print("  \($0)") }
    return 1
}

do {
    exit(try run())
} catch {
    FileHandle.standardError.write(Data("crucible-protocol-gen: \(error)\n".utf8))
    exit(2)
}
