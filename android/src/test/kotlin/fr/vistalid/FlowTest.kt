// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.AccountKind
import fr.vistalid.ffi.AnswerOutcome
import fr.vistalid.ffi.CodeMode
import fr.vistalid.ffi.PlatformKeystore
import fr.vistalid.ffi.VistalidException
import fr.vistalid.ffi.Wallet
import fr.vistalid.ffi.jwsVerify
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

private const val PIN = "204862"
private const val WRONG_PIN = "975310"

/**
 * The practitioner's flow through the bindings against a reference server on loopback
 * (`vistalid-testbed`): enrolment, a relying party's CIBA request, the push challenge with the
 * code dynamique, the approval, the ID token, and the typed errors. Each test uses its own
 * practitioner (own activation code and RPPS number), so tests do not see each other's
 * challenges.
 */
class FlowTest {
    private suspend fun enrolled(practitioner: Int, keystore: PlatformKeystore = MemoryHmacKeystore()): Pair<Wallet, String> {
        val (rpps, code) = Fixture.practitioner(practitioner)
        val dir = Files.createTempDirectory("vistalid-wallet").toFile()
        val wallet = openTestWallet(dir, keystore)
        val account = wallet.enrol(Fixture.baseUrl, code, PIN)
        assertEquals("8$rpps", account.subjectNameId) // the national id: 8 + RPPS
        assertEquals(AccountKind.PRACTITIONER, account.kind)
        return wallet to rpps
    }

    @Test
    fun approveWithTheRightCodeGivesAnIdTokenThatVerifies(): Unit = runBlocking {
        val rp = Fixture.client("pick")
        val (wallet, rpps) = enrolled(0)
        wallet.use { w ->
            assertEquals(listOf("8$rpps"), w.accounts().map { it.subjectNameId })
            assertEquals(5u, w.attemptsLeft())
            val (authReqId, dynamicCode) = rp.ciba(rpps, "Connexion au DMP")
            assertEquals("authorization_pending", rp.token(authReqId).second["error"])

            val fetched = w.fetchChallenges(5.seconds)
            assertEquals(0u, fetched.rejectedCount)
            val ch = fetched.challenges.single()
            assertEquals("Connexion au DMP", ch.bindingMessage)
            assertEquals("Dossier Médical Partagé", ch.service)
            assertTrue(ch.isPick)
            assertEquals(3, ch.candidates.size)
            assertTrue(dynamicCode in ch.candidates)
            assertTrue(ch.expiresAt > ch.issuedAt)

            assertEquals(AnswerOutcome.APPROVED, w.approve(ch, PIN, dynamicCode))

            val (status, body) = rp.token(authReqId)
            assertEquals(200, status, body.toString())
            val idToken = body["id_token"] as String
            // Checked with the bindings' own JWS verification under the server's JWKS key.
            val jwks = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(Fixture.baseUrl + "/protocol/openid-connect/certs")).build(),
                HttpResponse.BodyHandlers.ofString(),
            ).body()
            val key = Regex("\\{[^{}]*\"kty\"[^{}]*\\}").find(jwks)!!.value
            @Suppress("UNCHECKED_CAST")
            val claims = MiniJson.parse(String(jwsVerify(idToken, key, null))) as Map<String, Any?>
            assertEquals("8$rpps", claims["SubjectNameID"])
            assertEquals(rp.id, claims["aud"])

            // The same challenge cannot be answered twice.
            assertFailsWith<VistalidException.NoSuchChallenge> { w.approve(ch, PIN, dynamicCode) }
        }
    }

    @Test
    fun wrongCodeIsRefusedTypedAndTheRelyingPartyGetsAccessDenied(): Unit = runBlocking {
        val rp = Fixture.client("pick")
        val (wallet, rpps) = enrolled(1)
        wallet.use { w ->
            val (authReqId, dynamicCode) = rp.ciba(rpps, "Connexion")
            val ch = w.fetchChallenges(5.seconds).challenges.single()
            val wrong = ch.candidates.first { it != dynamicCode }
            assertFailsWith<VistalidException.WrongCode> { w.approve(ch, PIN, wrong) }
            val (status, body) = rp.token(authReqId)
            assertEquals(400 to "access_denied", status to body["error"])

            // A code that is not among the choices never leaves the phone.
            rp.ciba(rpps, "Connexion")
            val ch2 = w.fetchChallenges(5.seconds).challenges.single()
            val absent = (0..99).map { "%02d".format(it) }.first { it !in ch2.candidates }
            assertFailsWith<VistalidException.InvalidCode> { w.approve(ch2, PIN, absent) }
        }
    }

    @Test
    fun wrongPinGivesTriesLeftAndTheRightPinStillWorks(): Unit = runBlocking {
        val rp = Fixture.client("pick")
        val (wallet, rpps) = enrolled(2)
        wallet.use { w ->
            val (authReqId, dynamicCode) = rp.ciba(rpps, "Connexion")
            val ch = w.fetchChallenges(5.seconds).challenges.single()
            val e = assertFailsWith<VistalidException.WrongPin> { w.approve(ch, WRONG_PIN, dynamicCode) }
            assertEquals(4u, e.triesLeft)
            assertEquals(4u, w.attemptsLeft())
            assertEquals("authorization_pending", rp.token(authReqId).second["error"])
            assertEquals(AnswerOutcome.APPROVED, w.approve(ch, PIN, dynamicCode))
            assertEquals(5u, w.attemptsLeft())
        }
    }

    @Test
    fun fiveWrongPinsLockTheWalletAndSendNothing(): Unit = runBlocking {
        val rp = Fixture.client("pick")
        val (wallet, rpps) = enrolled(3)
        wallet.use { w ->
            val (authReqId, dynamicCode) = rp.ciba(rpps, "Connexion")
            val ch = w.fetchChallenges(5.seconds).challenges.single()
            for (left in 4 downTo 1) {
                val e = assertFailsWith<VistalidException.WrongPin> { w.approve(ch, WRONG_PIN, dynamicCode) }
                assertEquals(left.toUInt(), e.triesLeft)
            }
            val fifth = assertFailsWith<VistalidException> { w.approve(ch, WRONG_PIN, dynamicCode) }
            assertTrue(fifth is VistalidException.Locked || (fifth is VistalidException.WrongPin && fifth.triesLeft == 0u), "$fifth")
            assertFailsWith<VistalidException.Locked> { w.approve(ch, PIN, dynamicCode) }
            assertEquals("authorization_pending", rp.token(authReqId).second["error"])
        }
    }

    @Test
    fun typeModeTakesTheTypedCode(): Unit = runBlocking {
        val rp = Fixture.client("type")
        val (wallet, rpps) = enrolled(4)
        wallet.use { w ->
            val (authReqId, dynamicCode) = rp.ciba(rpps, "Connexion")
            val ch = w.fetchChallenges(5.seconds).challenges.single()
            assertEquals(CodeMode.TYPE, ch.mode)
            assertTrue(ch.candidates.isEmpty())
            assertEquals(AnswerOutcome.APPROVED, w.approve(ch, PIN, dynamicCode))
            assertEquals(200, rp.token(authReqId).first)
        }
    }

    @Test
    fun denyAndNotMeGiveAccessDenied(): Unit = runBlocking {
        val rp = Fixture.client("pick")
        val (wallet, rpps) = enrolled(5)
        wallet.use { w ->
            for (notMe in listOf(false, true)) {
                val (authReqId, _) = rp.ciba(rpps, "Connexion")
                val ch = w.fetchChallenges(5.seconds).challenges.single()
                val outcome = if (notMe) w.reportNotMe(ch.id, PIN) else w.deny(ch.id, PIN)
                assertEquals(if (notMe) AnswerOutcome.REPORTED else AnswerOutcome.DENIED, outcome)
                assertEquals("access_denied", rp.token(authReqId).second["error"])
            }
        }
    }

    @Test
    fun changePinThenWipe(): Unit = runBlocking {
        val rp = Fixture.client("pick")
        val (wallet, rpps) = enrolled(6)
        wallet.use { w ->
            assertFailsWith<VistalidException.WeakPin> { w.changePin(PIN, "123456") }
            w.changePin(PIN, "318529")
            val (_, dynamicCode) = rp.ciba(rpps, "Connexion")
            val ch = w.fetchChallenges(5.seconds).challenges.single()
            assertFailsWith<VistalidException.WrongPin> { w.approve(ch, PIN, dynamicCode) }
            assertEquals(AnswerOutcome.APPROVED, w.approve(ch, "318529", dynamicCode))
            w.wipe()
            assertTrue(w.accounts().isEmpty())
            assertFailsWith<VistalidException.NotEnrolled> { w.attemptsLeft() }
        }
    }

    @Test
    fun badActivationCodeAndWeakPinAreTyped(): Unit = runBlocking {
        val dir = Files.createTempDirectory("vistalid-wallet").toFile()
        openTestWallet(dir, MemoryHmacKeystore()).use { w ->
            val e = assertFailsWith<VistalidException.Server> { w.enrol(Fixture.baseUrl, "WRONGCODE", PIN) }
            assertTrue(e.status.toInt() in 400..403, "$e")
            assertFailsWith<VistalidException.WeakPin> { w.enrol(Fixture.baseUrl, "WRONGCODE", "123456") }
            assertFailsWith<VistalidException.InvalidInput> { w.enrol("http://idp.example.fr", "ABCDEFGH", PIN) }
        }
    }

    @Test
    fun throwingKotlinKeystoreGivesTypedErrorsNotACrash(): Unit = runBlocking {
        // The keystore is probed before the first enrolment contacts the server, so these
        // codes are not spent; each case still takes its own insured person's code.
        val cases = listOf<Pair<Exception, (VistalidException) -> Boolean>>(
            VistalidException.KeystoreUnavailable("device locked") to
                { e -> e is VistalidException.KeystoreUnavailable && e.reason == "device locked" },
            IllegalStateException("StrongBox went away") to
                { e -> e is VistalidException.Internal && e.reason.contains("StrongBox went away") },
        )
        for ((i, case) in cases.withIndex()) {
            val (failure, expected) = case
            val (_, code) = Fixture.insured(i)
            val keystore = object : PrfOnlyKeystore {
                override fun prf(input: ByteArray): ByteArray = throw failure
                override fun delete() = Unit
                override fun isHardwareBacked(): Boolean = true
            }
            val dir = Files.createTempDirectory("vistalid-wallet").toFile()
            openTestWallet(dir, keystore).use { w ->
                val e = assertFailsWith<VistalidException> { w.enrol(Fixture.baseUrl, code, PIN) }
                assertTrue(expected(e), "$e")
                assertTrue(w.accounts().isEmpty())
            }
        }
    }
}
