import XCTest
@testable import CrucibleRecords

final class CrucibleRecordsPlaceholder: XCTestCase {}
