// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.AccountKind
import fr.vistalid.ffi.QrMode
import fr.vistalid.ffi.QrVerified
import fr.vistalid.ffi.QrVerifier
import fr.vistalid.ffi.VistalidException
import java.nio.file.Files
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue

/** The insured's QR code through the bindings, against `vistalid-testbed`. */
class QrTest {
    @Test
    fun qrPresentedAndVerified(): Unit = runBlocking {
        val (insuredId, code) = Fixture.insured(2)
        val pro = Fixture.client("pick")
        val dir = Files.createTempDirectory("vistalid-wallet").toFile()
        openTestWallet(dir, MemoryHmacKeystore()).use { w ->
            val account = w.enrol(Fixture.baseUrl, code, "739184")
            assertEquals(AccountKind.INSURED, account.kind)

            val shown = w.presentQr(account.accountId, "739184", QrMode.OFFLINE, null)
            assertTrue(shown.text.startsWith("VL1:"))
            assertTrue(shown.svg.startsWith("<svg") || shown.svg.contains("<svg"), shown.svg.take(80))
            assertEquals(listOf(0x89, 'P'.code, 'N'.code, 'G'.code), shown.png.take(4).map { it.toInt() and 0xff })

            // The professional: issuer keys fetched once, then offline verification.
            val verifier = QrVerifier(fetchIssuerKeys(Fixture.baseUrl), null)
            verifier.use { v ->
                val ok = assertIs<QrVerified.Offline>(v.verify(shown.text))
                assertEquals(insuredId, ok.subject)
                assertEquals("Bernard", ok.familyName)
                // One altered character is refused, typed.
                val i = shown.text.length / 2
                val tampered = shown.text.substring(0, i) + (if (shown.text[i] == 'A') 'B' else 'A') + shown.text.substring(i + 1)
                assertFailsWith<VistalidException> { v.verify(tampered) }

                // Redemption at the server works once.
                assertEquals(insuredId, redeemQr(Fixture.baseUrl, shown.text, pro.id, pro.secret).subject)
                val again = assertFailsWith<VistalidException.Server> { redeemQr(Fixture.baseUrl, shown.text, pro.id, pro.secret) }
                assertEquals(409.toUShort(), again.status)

                // Online mode: no identity offline, the server vouches for it.
                val online = w.presentQr(account.accountId, "739184", QrMode.ONLINE, null)
                assertIs<QrVerified.RedeemOnline>(v.verify(online.text))
                assertEquals(insuredId, redeemQr(Fixture.baseUrl, online.text, pro.id, pro.secret).subject)
            }
            assertFailsWith<VistalidException.WrongPin> { w.presentQr(account.accountId, "204862", QrMode.OFFLINE, null) }
        }
    }
}
