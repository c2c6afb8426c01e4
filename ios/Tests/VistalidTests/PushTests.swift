// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest

@testable import Vistalid

/// Push wake-ups through the real bindings (issue 20) against the testbed: the APNs device
/// token is registered (a signed request the server checks), and a notification's `userInfo`
/// leads to the verified challenge, which is then approved.
final class PushTests: XCTestCase {
    private let fixture = Fixture.shared

    func testRegisterPushTokenAndHandlePushThroughTheBindings() async throws {
        let p = fixture.practitioners[11]
        let w = try await openTestWallet(at: tempDir(), keystore: MemoryKeystore())
        let account = try await w.enrol(serverUrl: fixture.base_url, activationCode: p.activation_code, pin: "204862")
        try await w.registerPushToken(Data((0..<32).map { UInt8($0) }))
        do {
            try await w.registerPushToken(Data([1, 2, 3]))
            XCTFail("a 3-byte token was accepted")
        } catch VistalidError.InvalidInput {}

        let rp = fixture.relyingParty(fixture.pick_client)
        let (authReqId, dynamicCode) = try await rp.ciba(p.rpps, "Connexion au DMP")
        let fetched = try await w.fetchChallenges(waitingUpTo: 5)
        XCTAssertEqual(fetched.challenges.count, 1)
        let id = fetched.challenges[0].id
        // What APNs delivers: `aps` beside the server's three keys.
        let userInfo: [AnyHashable: Any] = [
            "aps": ["alert": ["title": "Vistalid", "body": "Nouvelle demande de connexion / New sign-in request"]],
            "vl_v": "1", "vl_device": account.deviceId, "vl_challenge": id,
        ]
        let ch = try await w.handlePush(userInfo: userInfo)
        XCTAssertEqual(ch?.id, id)
        XCTAssertEqual(ch?.service, "Dossier Médical Partagé")
        var forged = userInfo
        forged["vl_device"] = "someone-else"
        do {
            _ = try await w.handlePush(userInfo: forged)
            XCTFail("a push for another device was accepted")
        } catch VistalidError.InvalidInput {}

        let outcome = try await w.approve(ch!, pin: "204862", code: dynamicCode)
        XCTAssertEqual(outcome, .approved)
        let again = try await w.handlePush(userInfo: userInfo)
        XCTAssertNil(again, "an answered challenge is no longer pending")
        let token = try await rp.token(authReqId)
        XCTAssertEqual(token.0, 200)
    }
}
