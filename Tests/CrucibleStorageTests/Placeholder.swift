import XCTest
@testable import CrucibleStorage

final class CrucibleStoragePlaceholder: XCTestCase {}
