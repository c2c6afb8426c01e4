// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import java.io.File
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.security.SecureRandom
import java.util.Base64
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec

/**
 * The fixture written by `vistalid-testbed` (a reference server on loopback): its base URL,
 * two relying parties and one-time activation codes. The test scripts start the testbed and
 * pass the file's path in `VISTALID_FIXTURE`.
 */
internal object Fixture {
    private val json: Map<String, Any?> by lazy {
        val path = System.getenv("VISTALID_FIXTURE")
            ?: error("VISTALID_FIXTURE is not set: run scripts/test-kotlin.sh (it starts vistalid-testbed)")
        @Suppress("UNCHECKED_CAST")
        MiniJson.parse(File(path).readText()) as Map<String, Any?>
    }

    val baseUrl: String get() = json["base_url"] as String

    /** Relying party `pick` or `type`. */
    fun client(mode: String): RelyingParty {
        @Suppress("UNCHECKED_CAST")
        val c = json["${mode}_client"] as Map<String, Any?>
        return RelyingParty(baseUrl, c["id"] as String, c["secret"] as String)
    }

    /** Practitioner number [index]: its RPPS number and activation code (use each once). */
    fun practitioner(index: Int): Pair<String, String> {
        @Suppress("UNCHECKED_CAST")
        val p = (json["practitioners"] as List<Map<String, Any?>>)[index]
        return p["rpps"] as String to p["activation_code"] as String
    }

    /** Scan mode (issue 16): the browser client registered for it, as `(id, redirect_uri)`. */
    fun scanClient(): Pair<String, String> {
        @Suppress("UNCHECKED_CAST")
        val c = json["scan_client"] as Map<String, Any?>
        return c["id"] as String to c["redirect_uri"] as String
    }

    /**
     * The testbed's key-rollover calls (issue 19): `POST /rotate-challenge-key` rotates the
     * challenge-signing key, `GET /forged-rollover` gives a statement not signed by the pinned key.
     */
    val keysUrl: String get() = json["keys_url"] as String

    /** The testbed's stand-in for a phone camera: reads a login page's QR code. */
    val cameraUrl: String get() = json["camera_url"] as String

    /** Insured person number [index]: id and activation code (use each once). */
    fun insured(index: Int): Pair<String, String> {
        @Suppress("UNCHECKED_CAST")
        val p = (json["insured"] as List<Map<String, Any?>>)[index]
        return p["id"] as String to p["activation_code"] as String
    }
}

/** A relying party speaking CIBA poll mode with HTTP Basic client authentication. */
internal class RelyingParty(private val base: String, val id: String, val secret: String) {
    private val http = HttpClient.newHttpClient()

    private fun post(path: String, form: Map<String, String>): Pair<Int, Map<String, Any?>> {
        val body = form.entries.joinToString("&") { (k, v) ->
            URLEncoder.encode(k, Charsets.UTF_8) + "=" + URLEncoder.encode(v, Charsets.UTF_8)
        }
        val basic = Base64.getEncoder().encodeToString(
            (URLEncoder.encode(id, Charsets.UTF_8) + ":" + URLEncoder.encode(secret, Charsets.UTF_8)).toByteArray(),
        )
        val request = HttpRequest.newBuilder(URI.create(base + path))
            .header("Authorization", "Basic $basic")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build()
        val resp = http.send(request, HttpResponse.BodyHandlers.ofString())
        @Suppress("UNCHECKED_CAST")
        return resp.statusCode() to (MiniJson.parse(resp.body()) as Map<String, Any?>)
    }

    /** Starts a CIBA login for [rpps]; returns `(auth_req_id, dynamic_code)`. */
    fun ciba(rpps: String, bindingMessage: String): Pair<String, String> {
        val (status, body) = post(
            "/protocol/openid-connect/ext/ciba/auth",
            mapOf("login_hint" to rpps, "binding_message" to bindingMessage, "scope" to "openid"),
        )
        check(status == 200) { "CIBA request failed: $status $body" }
        return body["auth_req_id"] as String to body["dynamic_code"] as String
    }

    /** One token poll: HTTP status and JSON body. */
    fun token(authReqId: String): Pair<Int, Map<String, Any?>> = post(
        "/protocol/openid-connect/token",
        mapOf("grant_type" to "urn:openid:params:grant-type:ciba", "auth_req_id" to authReqId),
    )
}

/**
 * A JVM keystore (HMAC-SHA256 with an in-memory key): the shape of the Android one, without
 * hardware keys (it enrols where the server lets unattested keystores in: the loopback testbed).
 */
internal class MemoryHmacKeystore : PrfOnlyKeystore {
    private val key = ByteArray(32).also { SecureRandom().nextBytes(it) }

    override fun prf(input: ByteArray): ByteArray =
        Mac.getInstance("HmacSHA256").apply { init(SecretKeySpec(key, "HmacSHA256")) }.doFinal(input)

    override fun delete() = key.fill(0)

    override fun isHardwareBacked(): Boolean = false
}

/** Just enough JSON for the fixture and the server's answers (objects, arrays, strings, numbers, literals). */
internal object MiniJson {
    fun parse(text: String): Any? = Parser(text).run { value().also { ws(); check(i == s.length) { "trailing data" } } }

    private class Parser(val s: String) {
        var i = 0

        fun ws() {
            while (i < s.length && s[i].isWhitespace()) i++
        }

        fun value(): Any? {
            ws()
            return when (val c = s[i]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> lit("true", true)
                'f' -> lit("false", false)
                'n' -> lit("null", null)
                else -> if (c == '-' || c.isDigit()) num() else error("unexpected '$c' at $i")
            }
        }

        fun lit(word: String, v: Any?): Any? {
            check(s.startsWith(word, i)) { "bad literal at $i" }
            i += word.length
            return v
        }

        fun num(): Double {
            val start = i
            while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
            return s.substring(start, i).toDouble()
        }

        fun str(): String {
            val sb = StringBuilder()
            i++ // opening quote
            while (s[i] != '"') {
                if (s[i] == '\\') {
                    i++
                    when (val e = s[i]) {
                        'u' -> { sb.append(s.substring(i + 1, i + 5).toInt(16).toChar()); i += 4 }
                        'n' -> sb.append('\n')
                        't' -> sb.append('\t')
                        'r' -> sb.append('\r')
                        'b' -> sb.append('\b')
                        'f' -> sb.append('\u000c')
                        else -> sb.append(e)
                    }
                } else {
                    sb.append(s[i])
                }
                i++
            }
            i++
            return sb.toString()
        }

        fun arr(): List<Any?> {
            val out = mutableListOf<Any?>()
            i++
            ws()
            if (s[i] == ']') return out.also { i++ }
            while (true) {
                out += value()
                ws()
                if (s[i++] == ']') return out
            }
        }

        fun obj(): Map<String, Any?> {
            val out = linkedMapOf<String, Any?>()
            i++
            ws()
            if (s[i] == '}') return out.also { i++ }
            while (true) {
                ws()
                val k = str()
                ws()
                check(s[i++] == ':') { "expected ':' at $i" }
                out[k] = value()
                ws()
                if (s[i++] == '}') return out
            }
        }
    }
}
