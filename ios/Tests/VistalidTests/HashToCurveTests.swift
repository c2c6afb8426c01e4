// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest

@testable import Vistalid

private func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

/// The hash-to-curve step of ``SecureEnclaveKeystore`` (RFC 9380, computed in Rust), called from
/// Swift on Linux: the Secure Enclave itself exists only on a device, but the point it is given
/// is checked here against the RFC's vectors.
final class HashToCurveTests: XCTestCase {
    private let rfcTag = Data("QUUX-V01-CS02-with-P256_XMD:SHA-256_SSWU_RO_".utf8)

    func testRfc9380Vectors() throws {
        // RFC 9380 Appendix J.1.1, suite P256_XMD:SHA-256_SSWU_RO_: message, P.x, P.y.
        let vectors: [(String, String, String)] = [
            ("", "2c15230b26dbc6fc9a37051158c95b79656e17a1a920b11394ca91c44247d3e4",
             "8a7a74985cc5c776cdfe4b1f19884970453912e9d31528c060be9ab5c43e8415"),
            ("abc", "0bb8b87485551aa43ed54f009230450b492fead5f1cc91658775dac4a3388a0f",
             "5c41b3d0731a27a7b14bc0bf0ccded2d8751f83493404c84a88e71ffd424212e"),
            ("abcdef0123456789", "65038ac8f2b1def042a5df0b33b1f4eca6bff7cb0f9c6c1526811864e544ed80",
             "cad44d40a656e7aff4002a8de287abc8ae0482b5ae825822bb870d6df9b56ca3"),
        ]
        for (message, x, y) in vectors {
            let point = try hashToCurveP256(message: Data(message.utf8), domainTag: rfcTag)
            XCTAssertEqual(point.count, 65)
            XCTAssertEqual(point.first, 0x04, "uncompressed SEC1, as CryptoKit's x963Representation takes it")
            XCTAssertEqual(hex(point.dropFirst().prefix(32)), x, "x for \"\(message)\"")
            XCTAssertEqual(hex(point.suffix(32)), y, "y for \"\(message)\"")
        }
    }

    func testTheKeystoreTagGivesAnotherPointAndAnEmptyTagIsTyped() throws {
        let keystoreTag = Data("VISTALID-V02-CS01-with-P256_XMD:SHA-256_SSWU_RO_".utf8)
        let a = try hashToCurveP256(message: Data("k_pin".utf8), domainTag: keystoreTag)
        XCTAssertEqual(a, try hashToCurveP256(message: Data("k_pin".utf8), domainTag: keystoreTag))
        XCTAssertNotEqual(a, try hashToCurveP256(message: Data("k_pin".utf8), domainTag: rfcTag))
        XCTAssertThrowsError(try hashToCurveP256(message: Data(), domainTag: Data())) {
            guard case VistalidError.InvalidInput = $0 else { return XCTFail("\($0)") }
        }
    }
}
