// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.DeviceKey
import fr.vistalid.ffi.VistalidException
import fr.vistalid.ffi.jwsVerify
import fr.vistalid.ffi.verifyEs256
import kotlin.test.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue

class DeviceKeyTest {
    @Test
    fun signVerifyRoundTrip() {
        DeviceKey.generate().use { key ->
            val jwk = key.publicJwkJson()
            assertTrue(jwk.contains("\"crv\":\"P-256\""), jwk)
            assertTrue(jwk.contains("\"kid\":\"${key.thumbprint()}\""), jwk)
            val sig = key.sign("bonjour".toByteArray())
            assertEquals(64, sig.size)
            verifyEs256(jwk, "bonjour".toByteArray(), sig)
            assertTrue(Es256.verify(jwk, "bonjour".toByteArray(), sig))
            assertFalse(Es256.verify(jwk, "bonjouR".toByteArray(), sig))
        }
    }

    @Test
    fun tamperedSignatureIsATypedError() {
        DeviceKey.generate().use { key ->
            val sig = key.sign(byteArrayOf(1, 2, 3))
            sig[10] = (sig[10].toInt() xor 1).toByte()
            assertFailsWith<VistalidException.BadSignature> {
                verifyEs256(key.publicJwkJson(), byteArrayOf(1, 2, 3), sig)
            }
        }
    }

    @Test
    fun malformedKeyIsInvalidInputNotACrash() {
        val e = assertFailsWith<VistalidException.InvalidInput> {
            verifyEs256("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}", ByteArray(0), ByteArray(64))
        }
        assertTrue(e.reason.isNotEmpty())
        assertFailsWith<VistalidException.InvalidInput> { Es256.verify("not json", ByteArray(0), ByteArray(0)) }
    }

    @Test
    fun jwsRoundTripChecksTyp() {
        DeviceKey.generate().use { key ->
            val payload = "{\"sub\":\"42\"}".toByteArray()
            val token = key.signJws("vistalid-test+jwt", payload)
            assertContentEquals(payload, jwsVerify(token, key.publicJwkJson(), "vistalid-test+jwt"))
            assertContentEquals(payload, jwsVerify(token, key.publicJwkJson(), null))
            assertFailsWith<VistalidException.InvalidInput> { jwsVerify(token, key.publicJwkJson(), "JWT") }
            DeviceKey.generate().use { other ->
                assertFailsWith<VistalidException.BadSignature> { jwsVerify(token, other.publicJwkJson(), null) }
            }
        }
    }

    @Test
    fun closedKeyCannotBeUsed() {
        val key = DeviceKey.generate()
        key.close()
        assertFailsWith<IllegalStateException> { key.sign(byteArrayOf(1)) }
    }
}
