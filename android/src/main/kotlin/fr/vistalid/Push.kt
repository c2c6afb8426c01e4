// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.Challenge
import fr.vistalid.ffi.PushPlatform
import fr.vistalid.ffi.VistalidException
import fr.vistalid.ffi.Wallet

/**
 * Registers the FCM registration [token] with every account's server, so a login wakes this
 * phone (issue 20, docs/push.md). Call it from `FirebaseMessagingService.onNewToken` and at
 * start. The request is signed by the wallet's device key, fresh and single-use; no PIN.
 *
 * @throws VistalidException.InvalidInput when [token] is not an FCM token's shape;
 *   [VistalidException.Network] or [VistalidException.Server] when a server cannot be reached
 *   or refuses (retry at the next start).
 */
@Throws(VistalidException::class)
public suspend fun Wallet.registerPushToken(token: String): Unit =
    registerPushTokenFor(PushPlatform.FCM, token)

/**
 * Handles what `FirebaseMessagingService.onMessageReceived` hands over (`message.data`):
 * checks that it is a Vistalid wake-up for this wallet, then fetches and verifies the
 * challenge it names (nothing else in the push is used). Returns that challenge, ready for
 * [approve], or `null` when it is no longer pending (answered elsewhere or expired).
 *
 * @throws VistalidException.InvalidInput when [data] is not a Vistalid wake-up for this wallet.
 */
@Throws(VistalidException::class)
public suspend fun Wallet.handlePush(data: Map<String, String>): Challenge? = handlePushData(data)
