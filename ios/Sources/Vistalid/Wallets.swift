// SPDX-License-Identifier: Apache-2.0
import Foundation

extension Wallet {
    /// Opens the Vistalid wallet stored in `directory` (created at the first enrolment) with
    /// the app's hardware `keystore` (on iOS: ``SecureEnclaveKeystore``). Requests to identity
    /// servers go through `transport`: the system's `URLSession` by default
    /// (``URLSessionTransport``); pass the app's own to share its configuration (pinning).
    ///
    /// Runs off the caller's actor (it reads files and may call the keystore). Every other
    /// wallet call is already `async` (Rust runs it on its own threads). The wallet frees its
    /// native memory when the last reference goes.
    ///
    /// The vault always uses the product's Argon2 parameters and back-off. (The binding tests
    /// use `Wallet.openForTests`, which exists only in test builds of the library.)
    public static func open(
        at directory: URL,
        keystore: PlatformKeystore,
        deviceName: String,
        transport: HttpTransport = URLSessionTransport()
    ) async throws -> Wallet {
        let options = WalletOptions(deviceName: deviceName)
        let path = directory.path
        return try await Task.detached(priority: .userInitiated) {
            try Wallet.open(dir: path, keystore: keystore, transport: transport, options: options)
        }.value
    }

    /// Fetches pending login requests, waiting up to `seconds` (at most 30) for one to arrive.
    public func fetchChallenges(waitingUpTo seconds: UInt32) async throws -> FetchedChallenges {
        try await fetchChallenges(waitSecs: min(seconds, 30))
    }

    /// Approves `challenge` with the wallet `pin` and the `code` the user picked or typed.
    /// The PIN string cannot be wiped from memory once made: keep it short-lived.
    ///
    /// - Throws: ``VistalidError/WrongPin(triesLeft:)``, ``VistalidError/Locked``,
    ///   ``VistalidError/InvalidCode`` (not sent), ``VistalidError/WrongCode`` (the server
    ///   refused the login), ``VistalidError/ChallengeExpired``.
    public func approve(_ challenge: Challenge, pin: String, code: String) async throws -> AnswerOutcome {
        try await approve(challengeId: challenge.id, pin: pin, code: code)
    }

    /// Scan mode (issue 16): reads the text of the login page's QR code, checks that it comes
    /// from the server of one of the accounts, and fetches the login request it shows; answer
    /// it as usual (the answer then carries the MAC of the scanned secret).
    ///
    /// - Throws: ``VistalidError/NotALoginQr(reason:)``,
    ///   ``VistalidError/ScanUnknownServer(scanned:enrolled:)`` (nothing sent),
    ///   ``VistalidError/ScanNoRequest``, and the errors of a fetch.
    public func scanLogin(_ text: String) async throws -> Challenge {
        try await scanLogin(text: text)
    }
}

/// Fetches the QR issuer's public keys of `serverUrl` (a JWK set, JSON text) for
/// `QrVerifier(trustedIssuersJwksJson:audience:)`. Fetch them once and keep them: offline
/// checks need no network.
public func fetchIssuerKeys(
    from serverUrl: String, transport: HttpTransport = URLSessionTransport()
) async throws -> String {
    try await VistalidBindings.fetchIssuerKeys(serverUrl: serverUrl, transport: transport)
}

/// Redeems the QR text `qrText` at `serverUrl` as the registered client `clientId` (HTTP
/// Basic with `clientSecret`). The server accepts each presentation once: a second try throws
/// `VistalidError.Server` with status 409.
public func redeemQr(
    serverUrl: String, qrText: String, clientId: String, clientSecret: String,
    transport: HttpTransport = URLSessionTransport()
) async throws -> RedeemedIdentity {
    try await redeemQr(
        serverUrl: serverUrl, transport: transport, qrText: qrText, clientId: clientId, clientSecret: clientSecret)
}

extension Challenge {
    /// Whether the user picks the code among ``candidates`` (else they type it).
    public var isPick: Bool { mode == .pick }
}
