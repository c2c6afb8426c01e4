// SPDX-License-Identifier: Apache-2.0
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import Vistalid

/// The fixture written by `vistalid-testbed` (a reference server on loopback): base URL, two
/// relying parties and one-time activation codes. scripts/test-swift.sh starts the testbed
/// and passes the file's path in `VISTALID_FIXTURE`.
struct Fixture: Decodable {
    struct Client: Decodable { let id: String; let secret: String }
    struct Practitioner: Decodable { let rpps: String; let activation_code: String }
    struct Insured: Decodable { let id: String; let activation_code: String }

    let base_url: String
    let pick_client: Client
    let type_client: Client
    let practitioners: [Practitioner]
    let insured: [Insured]
    let hostile_url: String
    /// Scan mode (issue 16): the browser client registered for it, and the camera stand-in.
    struct ScanClient: Decodable { let id: String; let redirect_uri: String }
    let scan_client: ScanClient
    let camera_url: String
    /// The testbed's key-rollover calls (issue 19): `POST /rotate-challenge-key`,
    /// `GET /forged-rollover` (a statement not signed by the pinned key).
    let keys_url: String

    static let shared: Fixture = {
        guard let path = ProcessInfo.processInfo.environment["VISTALID_FIXTURE"] else {
            fatalError("VISTALID_FIXTURE is not set: run scripts/test-swift.sh (it starts vistalid-testbed)")
        }
        do {
            return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            fatalError("cannot read the fixture \(path): \(error)")
        }
    }()

    func relyingParty(_ client: Client) -> RelyingParty {
        RelyingParty(base: base_url, id: client.id, secret: client.secret)
    }
}

/// A relying party speaking CIBA poll mode with HTTP Basic client authentication.
struct RelyingParty {
    let base: String
    let id: String
    let secret: String

    private func form(_ fields: [(String, String)]) -> Data {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let enc = { (s: String) in s.addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }
        return Data(fields.map { "\(enc($0.0))=\(enc($0.1))" }.joined(separator: "&").utf8)
    }

    /// POSTs a form; returns the HTTP status and the JSON object.
    func post(_ path: String, _ fields: [(String, String)]) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        let basic = Data("\(id):\(secret)".utf8).base64EncodedString()
        request.setValue("Basic \(basic)", forHTTPHeaderField: "Authorization")
        request.httpBody = form(fields)
        let (data, response) = try await fetch(request)
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, json)
    }

    /// Starts a CIBA login for `rpps`; returns `(auth_req_id, dynamic_code)`.
    func ciba(_ rpps: String, _ bindingMessage: String) async throws -> (String, String) {
        let (status, body) = try await post(
            "/protocol/openid-connect/ext/ciba/auth",
            [("login_hint", rpps), ("binding_message", bindingMessage), ("scope", "openid")])
        guard status == 200, let id = body["auth_req_id"] as? String, let code = body["dynamic_code"] as? String
        else { throw FixtureError.http("CIBA \(status) \(body)") }
        return (id, code)
    }

    /// One token poll: HTTP status and JSON body.
    func token(_ authReqId: String) async throws -> (Int, [String: Any]) {
        try await post(
            "/protocol/openid-connect/token",
            [("grant_type", "urn:openid:params:grant-type:ciba"), ("auth_req_id", authReqId)])
    }
}

enum FixtureError: Error { case http(String) }

/// URLSession's completion-handler API wrapped for async/await (works on Linux too).
func fetch(_ request: URLRequest) async throws -> (Data, URLResponse) {
    try await withCheckedThrowingContinuation { cont in
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { cont.resume(throwing: error) } else if let data, let response {
                cont.resume(returning: (data, response))
            } else {
                cont.resume(throwing: FixtureError.http("no response"))
            }
        }.resume()
    }
}

/// A keystore test double: a 32-byte output that depends on a random key and the input (not
/// a secure PRF; Linux has no CryptoKit), deterministic for the life of the object.
final class MemoryKeystore: PrfOnlyKeystore, @unchecked Sendable {
    // @unchecked: `key` is immutable after init.
    private let key: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }
    func prf(input: Data) throws -> Data {
        var out = key
        for (i, byte) in input.enumerated() { out[i % 32] = out[i % 32] &* 31 &+ byte &+ UInt8(i & 0xff) }
        return Data(out)
    }
    func delete() throws {}
    func isHardwareBacked() -> Bool { false }
}

/// A keystore whose PRF always throws `failure`.
final class ThrowingKeystore: PrfOnlyKeystore, @unchecked Sendable {
    // @unchecked: `failure` is immutable after init.
    let failure: Error
    init(_ failure: Error) { self.failure = failure }
    func prf(input: Data) throws -> Data { throw failure }
    func delete() throws {}
    func isHardwareBacked() -> Bool { true }
}

/// A fresh temporary directory for a wallet.
func tempDir() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("vistalid-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
