// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.VistalidException
import java.nio.file.Files
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue

private const val PIN = "204862"
private const val WRONG_PIN = "975310"

/**
 * The offline code (issue 16) through the Kotlin bindings: after an enrolment with the
 * testbed (which offers the fallback), `offlineCode` gives 8 digits and the seconds they stay
 * valid, with no network: the transport refuses every request once enrolled. A wrong PIN
 * gives another code (the vault holds no PIN oracle) and costs no local try.
 */
class OfflineCodeTest {
    @Test
    fun offlineCodeWorksWithoutTheNetworkAndAWrongPinGivesAnotherCode(): Unit = runBlocking {
        val (_, activation) = Fixture.practitioner(13)
        val dir = Files.createTempDirectory("vistalid-wallet").toFile()
        val offline = SwitchableTransport()
        openTestWallet(dir, MemoryHmacKeystore(), transport = offline).use { w ->
            val account = w.enrol(Fixture.baseUrl, activation, PIN)
            offline.down = true
            var code = w.offlineCode(account.accountId, PIN)
            if (code.validForSecs < 3u) {
                Thread.sleep(3_000)
                code = w.offlineCode(account.accountId, PIN)
            }
            assertEquals(8, code.code.length)
            assertTrue(code.code.all { it.isDigit() })
            assertTrue(code.validForSecs in 1u..30u)
            val again = w.offlineCode(account.accountId, PIN)
            if (again.validForSecs <= code.validForSecs) {
                assertEquals(code.code, again.code, "the same step gives the same code")
            }
            val wrong = w.offlineCode(account.accountId, WRONG_PIN)
            assertNotEquals(code.code, wrong.code)
            assertEquals(5u, w.attemptsLeft())
            assertEquals(0, offline.refused, "no request was even tried")
        }
    }
}

/** The platform transport, which refuses every request while [down] (the phone has no network). */
private class SwitchableTransport : fr.vistalid.ffi.HttpTransport {
    private val real = HttpUrlConnectionTransport()
    @Volatile var down = false
    @Volatile var refused = 0

    override suspend fun send(request: fr.vistalid.ffi.HttpRequest): fr.vistalid.ffi.HttpResponse {
        if (down) {
            refused += 1
            throw VistalidException.Network(true)
        }
        return real.send(request)
    }
}
