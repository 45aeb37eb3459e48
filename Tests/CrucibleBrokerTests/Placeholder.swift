import XCTest
@testable import CrucibleBroker

final class CrucibleBrokerPlaceholder: XCTestCase {}
