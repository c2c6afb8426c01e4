// SPDX-License-Identifier: Apache-2.0
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

@testable import Vistalid

private let scanPin = "204862"

/// Stops at the first redirect, so the test sees every 303 (and keeps the cookies by hand).
private final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

/// Scan mode (issue 16) through the Swift bindings against the reference server on loopback:
/// a browser login of the client registered for scan mode (a cookie-keeping URLSession plays
/// the browser), the page's QR code read by the testbed's camera stand-in, `scanLogin(_:)`,
/// its typed refusals, and the approval carrying the MAC.
final class ScanLoginTests: XCTestCase {
    private let fixture = Fixture.shared
    private var cookies: [String: String] = [:]
    private lazy var session: URLSession = {
        let config = URLSessionConfiguration.ephemeral
        config.httpShouldSetCookies = false
        config.httpCookieAcceptPolicy = .never
        return URLSession(configuration: config, delegate: NoRedirects(), delegateQueue: nil)
    }()

    private func send(_ request: URLRequest) async throws -> (Int, String, String?) {
        var request = request
        request.setValue(cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "), forHTTPHeaderField: "Cookie")
        let (data, response): (Data, URLResponse) = try await withCheckedThrowingContinuation { cont in
            session.dataTask(with: request) { data, response, error in
                if let error { cont.resume(throwing: error) } else if let data, let response {
                    cont.resume(returning: (data, response))
                } else { cont.resume(throwing: FixtureError.http("no response")) }
            }.resume()
        }
        let http = response as! HTTPURLResponse
        for (name, value) in http.allHeaderFields {
            guard (name as? String)?.lowercased() == "set-cookie", let text = value as? String else { continue }
            for one in text.components(separatedBy: ", vl_") {
                let pair = one.split(separator: ";")[0].split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { continue }
                let key = pair[0].hasPrefix("vl_") ? pair[0] : "vl_" + pair[0]
                if pair[1].isEmpty { cookies[key] = nil } else { cookies[key] = pair[1] }
            }
        }
        return (http.statusCode, String(decoding: data, as: UTF8.self), http.value(forHTTPHeaderField: "Location"))
    }

    private func get(_ url: String) async throws -> (Int, String, String?) {
        try await send(URLRequest(url: URL(string: url)!))
    }

    private func between(_ html: String, _ marker: String, _ end: Character) -> String {
        guard let r = html.range(of: marker) else { return "" }
        return String(html[r.upperBound...].prefix { $0 != end })
    }

    func testScanLoginFetchesTheRequestAndTheApprovalCarriesTheMac() async throws {
        let p = fixture.practitioners[12]
        let w = try await openTestWallet(at: tempDir(), keystore: MemoryKeystore())
        _ = try await w.enrol(serverUrl: fixture.base_url, activationCode: p.activation_code, pin: scanPin)

        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let enc = { (s: String) in s.addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }
        let query = [("response_type", "code"), ("client_id", fixture.scan_client.id),
                     ("redirect_uri", fixture.scan_client.redirect_uri), ("scope", "openid"),
                     ("state", "swift-scan"), ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                     ("code_challenge_method", "S256")].map { "\($0.0)=\(enc($0.1))" }.joined(separator: "&")
        let (status, _, location) = try await get("\(fixture.base_url)/protocol/openid-connect/auth?\(query)")
        XCTAssertEqual(status, 303)
        let page = fixture.base_url + (location ?? "")
        let (_, form, _) = try await get(page)
        XCTAssertTrue(form.contains("id=\"scan-forced\""))
        let csrf = between(form, "name=\"csrf\" value=\"", "\"")
        var post = URLRequest(url: URL(string: page)!)
        post.httpMethod = "POST"
        post.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        post.httpBody = Data("identifier=\(enc("8" + p.rpps))&csrf=\(enc(csrf))".utf8)
        let (posted, _, _) = try await send(post)
        XCTAssertEqual(posted, 303)
        let (_, html, _) = try await get(page)
        XCTAssertTrue(html.contains("data-state=\"waiting\""), html)
        let shown = between(html, "id=\"code\" class=\"code\">", "<")

        // The camera stand-in reads the page's QR code.
        var camera = URLRequest(url: URL(string: fixture.camera_url + "/scan")!)
        camera.httpMethod = "POST"
        camera.httpBody = Data(html.utf8)
        let (data, response) = try await fetch(camera)
        XCTAssertEqual((response as? HTTPURLResponse)?.statusCode, 200)
        let scanned = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(scanned.hasPrefix("VLSCAN1:"))

        do {
            _ = try await w.scanLogin("VL1:NOT-A-LOGIN")
            XCTFail("not a login QR code")
        } catch VistalidError.NotALoginQr {}
        do {
            _ = try await w.scanLogin(scanned.replacingOccurrences(of: fixture.base_url, with: "https://look-alike.example"))
            XCTFail("another server's code")
        } catch let VistalidError.ScanUnknownServer(s, enrolled) {
            XCTAssertEqual(s, "https://look-alike.example")
            XCTAssertEqual(enrolled, [fixture.base_url])
        }
        let pushed = try await w.fetchChallenges(waitingUpTo: 5).challenges[0]
        XCTAssertTrue(pushed.scan)
        do {
            _ = try await w.approve(pushed, pin: scanPin, code: shown)
            XCTFail("a scan-mode request needs the scan")
        } catch VistalidError.ScanRequired {}

        let ch = try await w.scanLogin(scanned)
        XCTAssertEqual(ch.id, pushed.id)
        let outcome = try await w.approve(ch, pin: scanPin, code: shown)
        XCTAssertEqual(outcome, .approved)
        let (back, _, to) = try await get(page + "/continue")
        XCTAssertEqual(back, 303)
        XCTAssertTrue(to?.contains("code=") ?? false)
    }
}
