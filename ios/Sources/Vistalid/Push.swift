// SPDX-License-Identifier: Apache-2.0
import Foundation

extension Wallet {
    /// Registers the APNs device token with every account's server, so a login wakes this
    /// phone (issue 20, docs/push.md). Call it from
    /// `application(_:didRegisterForRemoteNotificationsWithDeviceToken:)`. The request is
    /// signed by the wallet's device key, fresh and single-use; no PIN.
    ///
    /// - Throws: ``VistalidError/InvalidInput(reason:)`` when the token is not 32 to 100
    ///   bytes; ``VistalidError/Network(retryable:)`` or a server error when a server cannot
    ///   be reached or refuses (retry at the next start).
    public func registerPushToken(_ deviceToken: Data) async throws {
        let hex = deviceToken.map { String(format: "%02x", $0) }.joined()
        try await registerPushTokenFor(platform: .apns, token: hex)
    }

    /// Handles a notification's `userInfo`: checks that it is a Vistalid wake-up for this
    /// wallet, then fetches and verifies the challenge it names (nothing else in the push is
    /// used; `aps` and other non-string values are ignored). Returns that challenge, ready
    /// for ``approve(_:pin:code:)``, or `nil` when it is no longer pending.
    ///
    /// - Throws: ``VistalidError/InvalidInput(reason:)`` when it is not a Vistalid wake-up
    ///   for this wallet.
    public func handlePush(userInfo: [AnyHashable: Any]) async throws -> Challenge? {
        var data: [String: String] = [:]
        for (key, value) in userInfo {
            if let k = key as? String, let v = value as? String {
                data[k] = v
            }
        }
        return try await handlePushData(data: data)
    }
}
