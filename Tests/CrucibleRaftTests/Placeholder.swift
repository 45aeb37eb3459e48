import XCTest
@testable import CrucibleRaft

final class CrucibleRaftPlaceholder: XCTestCase {}
