// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.VistalidException
import fr.vistalid.ffi.verifyEs256

/**
 * ES256 (ECDSA P-256 with SHA-256) signature checks with Kotlin conventions.
 *
 * The checks run in Rust (`vistalid-core`); this object only gives them the shape of
 * [java.security.Signature.verify]: a `Boolean` for "does it verify", an exception for input
 * that is not a key at all.
 */
public object Es256 {
    /**
     * Returns `true` when [signature] (raw 64-byte `r || s`) is a valid ES256 signature of
     * [message] under the public key [publicJwkJson], `false` when it is not.
     *
     * @throws VistalidException.InvalidInput when [publicJwkJson] is not a valid P-256 JWK.
     */
    @Throws(VistalidException::class)
    public fun verify(publicJwkJson: String, message: ByteArray, signature: ByteArray): Boolean =
        try {
            verifyEs256(publicJwkJson, message, signature)
            true
        } catch (e: VistalidException.BadSignature) {
            false
        }
}
