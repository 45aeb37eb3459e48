import XCTest
@testable import CrucibleProtocol

final class CrucibleProtocolPlaceholder: XCTestCase {}
