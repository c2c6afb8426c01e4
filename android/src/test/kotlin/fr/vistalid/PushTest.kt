// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.AnswerOutcome
import fr.vistalid.ffi.VistalidException
import java.nio.file.Files
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.runBlocking

/**
 * Push wake-ups through the real bindings (issue 20) against the testbed: the FCM token is
 * registered (a signed request the server checks), and the data a `FirebaseMessagingService`
 * would hand over leads to the verified challenge, which is then approved.
 */
class PushTest {
    @Test
    fun registerPushTokenAndHandlePushThroughTheBindings(): Unit = runBlocking {
        val (rpps, code) = Fixture.practitioner(11)
        val dir = Files.createTempDirectory("vistalid-wallet").toFile()
        openTestWallet(dir, MemoryHmacKeystore()).use { w ->
            val account = w.enrol(Fixture.baseUrl, code, "204862")
            w.registerPushToken("fcm-token:APA91b_kotlin-test")
            assertFailsWith<VistalidException.InvalidInput> { w.registerPushToken("not a token") }

            val rp = Fixture.client("pick")
            val (authReqId, dynamicCode) = rp.ciba(rpps, "Connexion au DMP")
            val id = w.fetchChallenges(5.seconds).challenges.single().id
            // What FCM delivers: the server's three keys, plus FCM's own.
            val data = mapOf(
                "vl_v" to "1",
                "vl_device" to account.deviceId,
                "vl_challenge" to id,
                "google.message_id" to "0:1",
            )
            val ch = w.handlePush(data)!!
            assertEquals(id, ch.id)
            assertEquals("Dossier Médical Partagé", ch.service)
            assertFailsWith<VistalidException.InvalidInput> { w.handlePush(data + ("vl_device" to "someone-else")) }
            assertFailsWith<VistalidException.InvalidInput> { w.handlePush(data - "vl_v") }

            assertEquals(AnswerOutcome.APPROVED, w.approve(ch, "204862", dynamicCode))
            assertNull(w.handlePush(data), "an answered challenge is no longer pending")
            assertEquals(200, rp.token(authReqId).first)
        }
    }
}
