// SPDX-License-Identifier: Apache-2.0
package android.security.keystore

import java.security.InvalidKeyException

/*
 * JVM stand-ins with the names and superclasses of Android's Keystore exceptions, so the JVM
 * tests can check HardwareKeys.mapFailure, which matches Android's classes by name. They exist
 * only in the test classpath; the android-api build compiles against the real ones.
 */

/** Stand-in for Android's class of the same name (extends InvalidKeyException there too). */
class KeyPermanentlyInvalidatedException : InvalidKeyException("invalidated")

/** Stand-in for Android's class of the same name (extends InvalidKeyException there too). */
class UserNotAuthenticatedException : InvalidKeyException("not authenticated")
