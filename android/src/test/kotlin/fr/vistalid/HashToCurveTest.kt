// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.VistalidException
import fr.vistalid.ffi.hashToCurveP256
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith

/** RFC 9380 hash-to-curve (computed in Rust) through the bindings, on the RFC's vectors. */
class HashToCurveTest {
    private val rfcTag = "QUUX-V01-CS02-with-P256_XMD:SHA-256_SSWU_RO_".toByteArray()

    private fun ByteArray.hex(): String = joinToString("") { "%02x".format(it) }

    @Test
    fun rfc9380Vectors() {
        // RFC 9380 Appendix J.1.1, suite P256_XMD:SHA-256_SSWU_RO_: message, P.x, P.y.
        val vectors = listOf(
            Triple(
                "",
                "2c15230b26dbc6fc9a37051158c95b79656e17a1a920b11394ca91c44247d3e4",
                "8a7a74985cc5c776cdfe4b1f19884970453912e9d31528c060be9ab5c43e8415",
            ),
            Triple(
                "abc",
                "0bb8b87485551aa43ed54f009230450b492fead5f1cc91658775dac4a3388a0f",
                "5c41b3d0731a27a7b14bc0bf0ccded2d8751f83493404c84a88e71ffd424212e",
            ),
        )
        for ((message, x, y) in vectors) {
            val point = hashToCurveP256(message.toByteArray(), rfcTag)
            assertEquals(65, point.size)
            assertEquals(4, point[0].toInt())
            assertEquals(x, point.copyOfRange(1, 33).hex(), "x for \"$message\"")
            assertEquals(y, point.copyOfRange(33, 65).hex(), "y for \"$message\"")
        }
    }

    @Test
    fun anEmptyTagIsTyped() {
        assertFailsWith<VistalidException.InvalidInput> { hashToCurveP256(ByteArray(0), ByteArray(0)) }
    }
}
