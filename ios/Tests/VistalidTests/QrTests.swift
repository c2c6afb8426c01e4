// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest

@testable import Vistalid

/// The insured's QR code through the Swift bindings, against `vistalid-testbed`.
final class QrTests: XCTestCase {
    func testQrPresentedAndVerified() async throws {
        let fixture = Fixture.shared
        let insured = fixture.insured[2]
        let pro = fixture.pick_client
        let w = try await openTestWallet(at: tempDir(), keystore: MemoryKeystore())
        let account = try await w.enrol(serverUrl: fixture.base_url, activationCode: insured.activation_code, pin: "739184")
        XCTAssertEqual(account.kind, .insured)

        let shown = try await w.presentQr(accountId: account.accountId, pin: "739184", mode: .offline, audience: nil)
        XCTAssertTrue(shown.text.hasPrefix("VL1:"))
        XCTAssertTrue(shown.svg.contains("<svg"))
        XCTAssertEqual(Array(shown.png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])

        // The professional: issuer keys fetched once, then offline verification.
        let verifier = try QrVerifier(trustedIssuersJwksJson: try await fetchIssuerKeys(from: fixture.base_url), audience: nil)
        guard case .offline(let subject, _, let familyName, _, _, _) = try verifier.verify(text: shown.text) else {
            return XCTFail("expected an offline verification")
        }
        XCTAssertEqual(subject, insured.id)
        XCTAssertEqual(familyName, "Bernard")
        var chars = Array(shown.text)
        let i = chars.count / 2
        chars[i] = chars[i] == "A" ? "B" : "A"
        XCTAssertThrowsError(try verifier.verify(text: String(chars))) { XCTAssertTrue($0 is VistalidError, "\($0)") }

        // Redemption at the server works once.
        let redeemed = try await redeemQr(serverUrl: fixture.base_url, qrText: shown.text, clientId: pro.id, clientSecret: pro.secret)
        XCTAssertEqual(redeemed.subject, insured.id)
        do {
            _ = try await redeemQr(serverUrl: fixture.base_url, qrText: shown.text, clientId: pro.id, clientSecret: pro.secret)
            XCTFail("a second redemption must fail")
        } catch VistalidError.Server(let status, _) {
            XCTAssertEqual(status, 409)
        }

        // Online mode: no identity offline, the server vouches for it.
        let online = try await w.presentQr(accountId: account.accountId, pin: "739184", mode: .online, audience: nil)
        guard case .redeemOnline = try verifier.verify(text: online.text) else {
            return XCTFail("expected redeemOnline")
        }
        let viaServer = try await redeemQr(serverUrl: fixture.base_url, qrText: online.text, clientId: pro.id, clientSecret: pro.secret)
        XCTAssertEqual(viaServer.subject, insured.id)
    }
}
