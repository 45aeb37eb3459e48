import XCTest
@testable import CrucibleVerify

final class CrucibleVerifyPlaceholder: XCTestCase {}
