// SPDX-License-Identifier: Apache-2.0
import Foundation

/// ES256 (ECDSA P-256 with SHA-256) signature checks with Swift conventions.
///
/// The checks run in Rust (`vistalid-core`); this type only reshapes the result: a `Bool`
/// for "does it verify", a thrown ``VistalidError`` for input that is not a key at all.
public enum Es256 {
    /// Whether `signature` (raw 64-byte `r || s`) is a valid ES256 signature of `message`
    /// under the public key `publicJwkJson`.
    ///
    /// - Throws: ``VistalidError/InvalidInput(reason:)`` when `publicJwkJson` is not a valid
    ///   P-256 JWK.
    public static func verify(publicJwkJson: String, message: Data, signature: Data) throws -> Bool {
        do {
            try verifyEs256(publicJwkJson: publicJwkJson, message: message, signature: signature)
            return true
        } catch VistalidError.BadSignature {
            return false
        }
    }
}
