// SPDX-License-Identifier: Apache-2.0
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

@testable import Vistalid

private let pin = "204862"
private let wrongPin = "975310"

/// Runs `body` and returns the error it threw, or fails the test when it threw nothing.
private func thrown<T>(_ body: () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async -> Error? {
    do {
        _ = try await body()
        XCTFail("expected an error", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

/// The practitioner's flow through the Swift bindings against a reference server on loopback
/// (`vistalid-testbed`). Each test uses its own practitioner (own activation code and RPPS
/// number), so tests do not see each other's challenges.
final class FlowTests: XCTestCase {
    private let fixture = Fixture.shared

    private func enrolled(_ index: Int) async throws -> (Wallet, String) {
        let p = fixture.practitioners[index]
        let wallet = try await openTestWallet(at: tempDir(), keystore: MemoryKeystore())
        let account = try await wallet.enrol(serverUrl: fixture.base_url, activationCode: p.activation_code, pin: pin)
        XCTAssertEqual(account.subjectNameId, "8" + p.rpps) // the national id: 8 + RPPS
        XCTAssertEqual(account.kind, .practitioner)
        return (wallet, p.rpps)
    }

    func testApproveWithTheRightCodeGivesAnIdTokenThatVerifies() async throws {
        let rp = fixture.relyingParty(fixture.pick_client)
        let (w, rpps) = try await enrolled(0)
        XCTAssertEqual(try w.accounts().map(\.subjectNameId), ["8" + rpps])
        XCTAssertEqual(try w.attemptsLeft(), 5)
        let (authReqId, dynamicCode) = try await rp.ciba(rpps, "Connexion au DMP")
        let pending = try await rp.token(authReqId)
        XCTAssertEqual(pending.1["error"] as? String, "authorization_pending")

        let fetched = try await w.fetchChallenges(waitingUpTo: 5)
        XCTAssertEqual(fetched.rejectedCount, 0)
        XCTAssertEqual(fetched.challenges.count, 1)
        let ch = fetched.challenges[0]
        XCTAssertEqual(ch.bindingMessage, "Connexion au DMP")
        XCTAssertEqual(ch.service, "Dossier Médical Partagé")
        XCTAssertTrue(ch.isPick)
        XCTAssertEqual(ch.candidates.count, 3)
        XCTAssertTrue(ch.candidates.contains(dynamicCode))

        let outcome = try await w.approve(ch, pin: pin, code: dynamicCode)
        XCTAssertEqual(outcome, .approved)

        let (status, body) = try await rp.token(authReqId)
        XCTAssertEqual(status, 200, "\(body)")
        let idToken = try XCTUnwrap(body["id_token"] as? String)
        // Checked with the bindings' own JWS verification under the server's JWKS key.
        let (jwksData, _) = try await fetch(URLRequest(url: URL(string: fixture.base_url + "/protocol/openid-connect/certs")!))
        let jwks = try XCTUnwrap(JSONSerialization.jsonObject(with: jwksData) as? [String: Any])
        let key = try XCTUnwrap((jwks["keys"] as? [Any])?.first)
        let keyJson = String(decoding: try JSONSerialization.data(withJSONObject: key), as: UTF8.self)
        let payload = try jwsVerify(token: idToken, publicJwkJson: keyJson, expectedTyp: nil)
        let claims = try XCTUnwrap(JSONSerialization.jsonObject(with: payload) as? [String: Any])
        XCTAssertEqual(claims["SubjectNameID"] as? String, "8" + rpps)
        XCTAssertEqual(claims["aud"] as? String, rp.id)

        let again = await thrown { try await w.approve(ch, pin: pin, code: dynamicCode) }
        guard case .NoSuchChallenge = again as? VistalidError else { return XCTFail("\(String(describing: again))") }
    }

    func testWrongCodeIsRefusedTypedAndTheRelyingPartyGetsAccessDenied() async throws {
        let rp = fixture.relyingParty(fixture.pick_client)
        let (w, rpps) = try await enrolled(1)
        let (authReqId, dynamicCode) = try await rp.ciba(rpps, "Connexion")
        let ch = try await w.fetchChallenges(waitingUpTo: 5).challenges[0]
        let wrong = try XCTUnwrap(ch.candidates.first { $0 != dynamicCode })
        let e = await thrown { try await w.approve(ch, pin: pin, code: wrong) }
        guard case .WrongCode = e as? VistalidError else { return XCTFail("\(String(describing: e))") }
        let (status, body) = try await rp.token(authReqId)
        XCTAssertEqual(status, 400)
        XCTAssertEqual(body["error"] as? String, "access_denied")
    }

    func testWrongPinGivesTriesLeftThenFiveLockTheWallet() async throws {
        let rp = fixture.relyingParty(fixture.pick_client)
        let (w, rpps) = try await enrolled(2)
        let (authReqId, dynamicCode) = try await rp.ciba(rpps, "Connexion")
        let ch = try await w.fetchChallenges(waitingUpTo: 5).challenges[0]
        for left in stride(from: 4, through: 1, by: -1) {
            let e = await thrown { try await w.approve(ch, pin: wrongPin, code: dynamicCode) }
            guard case .WrongPin(let triesLeft) = e as? VistalidError else { return XCTFail("\(String(describing: e))") }
            XCTAssertEqual(triesLeft, UInt32(left))
        }
        let fifth = await thrown { try await w.approve(ch, pin: wrongPin, code: dynamicCode) }
        switch fifth as? VistalidError {
        case .Locked?, .WrongPin(triesLeft: 0)?: break
        default: XCTFail("\(String(describing: fifth))")
        }
        let locked = await thrown { try await w.approve(ch, pin: pin, code: dynamicCode) }
        guard case .Locked = locked as? VistalidError else { return XCTFail("\(String(describing: locked))") }
        let (_, body) = try await rp.token(authReqId)
        XCTAssertEqual(body["error"] as? String, "authorization_pending")
    }

    func testTypeModeTakesTheTypedCode() async throws {
        let rp = fixture.relyingParty(fixture.type_client)
        let (w, rpps) = try await enrolled(3)
        let (authReqId, dynamicCode) = try await rp.ciba(rpps, "Connexion")
        let ch = try await w.fetchChallenges(waitingUpTo: 5).challenges[0]
        XCTAssertEqual(ch.mode, .type)
        XCTAssertTrue(ch.candidates.isEmpty)
        let outcome = try await w.approve(ch, pin: pin, code: dynamicCode)
        XCTAssertEqual(outcome, .approved)
        let (status, _) = try await rp.token(authReqId)
        XCTAssertEqual(status, 200)
    }

    func testDenyAndNotMeGiveAccessDenied() async throws {
        let rp = fixture.relyingParty(fixture.pick_client)
        let (w, rpps) = try await enrolled(4)
        for notMe in [false, true] {
            let (authReqId, _) = try await rp.ciba(rpps, "Connexion")
            let ch = try await w.fetchChallenges(waitingUpTo: 5).challenges[0]
            let outcome = notMe
                ? try await w.reportNotMe(challengeId: ch.id, pin: pin)
                : try await w.deny(challengeId: ch.id, pin: pin)
            XCTAssertEqual(outcome, notMe ? .reported : .denied)
            let (_, body) = try await rp.token(authReqId)
            XCTAssertEqual(body["error"] as? String, "access_denied")
        }
    }

    func testChangePinThenWipe() async throws {
        let (w, _) = try await enrolled(5)
        let weak = await thrown { try await w.changePin(oldPin: pin, newPin: "123456") }
        guard case .WeakPin = weak as? VistalidError else { return XCTFail("\(String(describing: weak))") }
        try await w.changePin(oldPin: pin, newPin: "318529")
        XCTAssertEqual(try w.attemptsLeft(), 5)
        try await w.wipe()
        XCTAssertTrue(try w.accounts().isEmpty)
        XCTAssertThrowsError(try w.attemptsLeft()) {
            guard case .NotEnrolled = $0 as? VistalidError else { return XCTFail("\($0)") }
        }
    }

    func testThrowingSwiftKeystoreGivesTypedErrorsNotACrash() async throws {
        struct SecureEnclaveGone: Error {}
        // The keystore is probed before the first enrolment contacts the server, so these codes
        // are not spent; each case still takes its own insured person's code.
        let cases: [(Error, (VistalidError) -> Bool)] = [
            (VistalidError.KeystoreUnavailable(reason: "device locked"), {
                if case .KeystoreUnavailable(reason: "device locked") = $0 { return true } else { return false }
            }),
            (SecureEnclaveGone(), {
                if case .Internal = $0 { return true } else { return false }
            }),
        ]
        for (i, (failure, expected)) in cases.enumerated() {
            let w = try await openTestWallet(at: tempDir(), keystore: ThrowingKeystore(failure))
            let e = await thrown {
                try await w.enrol(serverUrl: fixture.base_url, activationCode: fixture.insured[i].activation_code, pin: pin)
            }
            let typed = try XCTUnwrap(e as? VistalidError, "\(String(describing: e))")
            XCTAssertTrue(expected(typed), "\(typed)")
            XCTAssertTrue(try w.accounts().isEmpty)
        }
    }
}
