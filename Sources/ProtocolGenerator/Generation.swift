import Foundation

/// Everything generated from one schema directory, as relative path -> contents for the library and the tests.
struct Generation {
    var library: [String: String] = [:]
    var tests: [String: String] = [:]

    init(schemaDirectory: URL) throws {
        let messages = try Self.loadSchemas(in: schemaDirectory.appendingPathComponent("messages"))
            .filter(Catalog.includes)
        let metadata = try Self.loadSchemas(in: schemaDirectory.appendingPathComponent("metadata"))
            .filter { $0.type == "metadata" }
        try Self.checkCatalogComplete(messages)

        let apis = messages.filter { $0.type == "request" }
            .map { IndexGenerators.Api(rawValue: $0.apiKey!, name: String($0.name.dropLast("Request".count))) }
            .sorted { $0.rawValue < $1.rawValue }
        let records = metadata.map { IndexGenerators.MetadataRecord(rawValue: $0.apiKey ?? -1, name: $0.name) }
            .sorted { $0.rawValue < $1.rawValue }

        for schema in messages {
            let api = apis.first { $0.rawValue == schema.apiKey && schema.type != "header" && schema.type != "data" }
            library["\(schema.name).swift"] = try MessageFileGenerator(
                schema: schema, apiCaseName: api?.caseName, metadataCaseName: nil).generate()
            tests["\(schema.name)+Sample.swift"] = try SampleGenerator(schema: schema).generate()
        }
        for schema in metadata {
            let record = records.first { $0.name == schema.name }!
            library["Metadata/\(schema.name).swift"] = try MessageFileGenerator(
                schema: schema, apiCaseName: nil, metadataCaseName: record.caseName).generate()
            tests["Metadata/\(schema.name)+Sample.swift"] = try SampleGenerator(schema: schema).generate()
        }
        library["ApiKey.swift"] = IndexGenerators.apiKeyFile(apis)
        library["Metadata/MetadataRecordType.swift"] = IndexGenerators.metadataRecordTypeFile(records)
        let errors = try String(contentsOf: schemaDirectory.appendingPathComponent("errors.tsv"), encoding: .utf8)
        library["ErrorCode.swift"] = IndexGenerators.errorCodeFile(try IndexGenerators.parseErrors(errors))
        let allNames = (messages + metadata).map(\.name).sorted()
        tests["GeneratedRoundTripTests.swift"] = SampleGenerator.roundTripTestsFile(allNames)
    }

    private static func loadSchemas(in directory: URL) throws -> [MessageSchema] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            do {
                return try MessageSchema(fileName: name, text: text)
            } catch {
                throw GeneratorError("\(name): \(error)")
            }
        }
    }

    /// Every catalogued api key needs both halves, with matching versions (the header rules assume it).
    private static func checkCatalogComplete(_ messages: [MessageSchema]) throws {
        for key in Catalog.apiKeys {
            let request = messages.first { $0.apiKey == key && $0.type == "request" }
            let response = messages.first { $0.apiKey == key && $0.type == "response" }
            guard let request, let response else { throw GeneratorError("api key \(key): schema missing") }
            guard request.validVersions == response.validVersions,
                  request.flexibleVersions == response.flexibleVersions else {
                throw GeneratorError("api key \(key): request and response versions differ")
            }
        }
    }
}
