// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest

@testable import Vistalid

/// A Swift keystore with hardware keys in the Apple shape (the key id is the alias's bytes,
/// the object is the challenge), recording what Rust asked.
private final class RecordingHardwareKeystore: PrfOnlyKeystore, @unchecked Sendable {
    // @unchecked: every access to the recorded state holds `lock`.
    private let lock = NSLock()
    private var attestedCalls: [(String, Data)] = []
    private var deletedAliases: [String] = []

    var attested: [(String, Data)] { lock.lock(); defer { lock.unlock() }; return attestedCalls }
    var deleted: [String] { lock.lock(); defer { lock.unlock() }; return deletedAliases }

    func prf(input: Data) throws -> Data { Data((0..<32).map { UInt8((input.count + $0) & 0xff) }) }
    func delete() throws {}
    func isHardwareBacked() -> Bool { true }
    func attest(alias: String, challenge: Data) throws -> DeviceAttestation? {
        lock.lock(); defer { lock.unlock() }
        attestedCalls.append((alias, challenge))
        return .appleAppAttest(keyId: Data(alias.utf8), attestationObject: challenge)
    }
    func signAttested(alias: String, message: Data) throws -> HardwareSignature? {
        .appleAppAttest(assertion: message)
    }
    func deleteAttested(alias: String) throws {
        lock.lock(); defer { lock.unlock() }
        deletedAliases.append(alias)
    }
}

/// A server that gives a nonce, keeps the enrolment body and refuses it.
private final class RefusingServer: HttpTransport, @unchecked Sendable {
    // @unchecked: `body` is written under `lock`.
    private let lock = NSLock()
    private var body: Data?
    var enrolBody: Data? { lock.lock(); defer { lock.unlock() }; return body }

    private func keep(_ data: Data) {
        lock.lock()
        defer { lock.unlock() }
        body = data
    }

    func send(request: HttpRequest) async throws -> HttpResponse {
        if request.url.hasSuffix("/device/enrol/nonce") {
            return HttpResponse(status: 200, body: Data(#"{"nonce":"n-1","expires_in":60}"#.utf8))
        }
        if request.url.hasSuffix("/device/enrol") {
            keep(request.body)
            return HttpResponse(status: 403, body: Data(#"{"error":"attestation_invalid"}"#.utf8))
        }
        return HttpResponse(status: 404, body: Data(#"{"error":"not_found"}"#.utf8))
    }
}

final class HardwareKeyTests: XCTestCase {
    func testTheWalletAttestsThroughTheBindingsAndDeletesTheKeyOfARefusedEnrolment() async throws {
        let ks = RecordingHardwareKeystore()
        let server = RefusingServer()
        let w = try await openTestWallet(at: try tempDir(), keystore: ks, transport: server)
        do {
            _ = try await w.enrol(serverUrl: "https://idp.example.fr", activationCode: "ABCDEFGH", pin: "482915")
            XCTFail("expected the server's refusal")
        } catch VistalidError.DeviceNotTrusted(let missing) {
            // `attestation_invalid`: evidence was sent and did not verify.
            XCTAssertFalse(missing)
        }
        XCTAssertEqual(ks.attested.count, 1)
        let (alias, challenge) = ks.attested[0]
        XCTAssertNotNil(alias.range(of: "^hw-[0-9a-f]{16}$", options: .regularExpression), alias)
        XCTAssertEqual(challenge.count, 32)
        let body = try XCTUnwrap(server.enrolBody)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: body) as? [String: Any])
        let evidence = try XCTUnwrap(json["device_attestation"] as? [String: Any])
        XCTAssertEqual(evidence["platform"] as? String, "apple_app_attest")
        XCTAssertEqual(evidence["key_id"] as? String, base64url(Data(alias.utf8)))
        XCTAssertEqual(evidence["object"] as? String, base64url(challenge))
        // The refused enrolment's key is forgotten (on Rust's blocking pool: wait for it).
        let deadline = Date().addingTimeInterval(5)
        while ks.deleted.isEmpty && Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertEqual(ks.deleted, [alias])
    }
}

private func base64url(_ data: Data) -> String {
    data.base64EncodedString()
        .replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}
