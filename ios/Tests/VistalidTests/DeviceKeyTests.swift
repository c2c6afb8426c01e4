// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest

@testable import Vistalid

final class DeviceKeyTests: XCTestCase {
    func testSignVerifyRoundTrip() throws {
        let key = try DeviceKey.generate()
        let jwk = try key.publicJwkJson()
        XCTAssertTrue(jwk.contains("\"crv\":\"P-256\""), jwk)
        XCTAssertTrue(jwk.contains("\"kid\":\"\(key.thumbprint())\""), jwk)
        let sig = try key.sign(message: Data("bonjour".utf8))
        XCTAssertEqual(sig.count, 64)
        try verifyEs256(publicJwkJson: jwk, message: Data("bonjour".utf8), signature: sig)
        XCTAssertTrue(try Es256.verify(publicJwkJson: jwk, message: Data("bonjour".utf8), signature: sig))
        XCTAssertFalse(try Es256.verify(publicJwkJson: jwk, message: Data("bonjouR".utf8), signature: sig))
    }

    func testTamperedSignatureIsATypedError() throws {
        let key = try DeviceKey.generate()
        var sig = try key.sign(message: Data([1, 2, 3]))
        sig[10] ^= 1
        XCTAssertThrowsError(
            try verifyEs256(publicJwkJson: key.publicJwkJson(), message: Data([1, 2, 3]), signature: sig)
        ) { error in
            XCTAssertEqual(error as? VistalidError, .BadSignature)
        }
    }

    func testMalformedKeyIsInvalidInputNotACrash() {
        let p384 = #"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#
        XCTAssertThrowsError(try verifyEs256(publicJwkJson: p384, message: Data(), signature: Data(count: 64))) {
            guard case VistalidError.InvalidInput(let reason) = $0 else { return XCTFail("\($0)") }
            XCTAssertFalse(reason.isEmpty)
        }
        XCTAssertThrowsError(try Es256.verify(publicJwkJson: "not json", message: Data(), signature: Data())) {
            guard case VistalidError.InvalidInput = $0 else { return XCTFail("\($0)") }
        }
    }

    func testJwsRoundTripChecksTyp() throws {
        let key = try DeviceKey.generate()
        let payload = Data(#"{"sub":"42"}"#.utf8)
        let token = try key.signJws(typ: "vistalid-test+jwt", payload: payload)
        let jwk = try key.publicJwkJson()
        XCTAssertEqual(try jwsVerify(token: token, publicJwkJson: jwk, expectedTyp: "vistalid-test+jwt"), payload)
        XCTAssertEqual(try jwsVerify(token: token, publicJwkJson: jwk, expectedTyp: nil), payload)
        XCTAssertThrowsError(try jwsVerify(token: token, publicJwkJson: jwk, expectedTyp: "JWT")) {
            guard case VistalidError.InvalidInput = $0 else { return XCTFail("\($0)") }
        }
        let other = try DeviceKey.generate()
        XCTAssertThrowsError(try jwsVerify(token: token, publicJwkJson: other.publicJwkJson(), expectedTyp: nil)) {
            XCTAssertEqual($0 as? VistalidError, .BadSignature)
        }
    }
}
