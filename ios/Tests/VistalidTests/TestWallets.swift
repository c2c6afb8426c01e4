// SPDX-License-Identifier: Apache-2.0
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import Vistalid

/// Opens a wallet in `directory` for the tests with `Wallet.openForTests`: tiny Argon2
/// parameters and no back-off, the product's lockout and PIN policy. That constructor exists
/// only in test builds of the library (cargo feature `test-support`, which
/// scripts/test-swift.sh enables); an app sees only ``Wallet/open(at:keystore:deviceName:transport:)``.
func openTestWallet(
    at directory: URL, keystore: PlatformKeystore, transport: HttpTransport = URLSessionTransport()
) async throws -> Wallet {
    let options = WalletOptions(deviceName: "Swift test")
    let path = directory.path
    return try await Task.detached {
        try Wallet.openForTests(dir: path, keystore: keystore, transport: transport, options: options)
    }.value
}
