// SPDX-License-Identifier: Apache-2.0
//
// Android library `fr.vistalid` for Android Studio users. NOT run by this repository's CI
// (no Android SDK or Gradle distribution there); CI uses pom.xml. Before building:
//
//   cargo install cargo-ndk
//   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
//   cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -o android/src/main/jniLibs \
//       build -p vistalid-ffi --release
//   cargo run -p vistalid-ffi --features cli --bin uniffi-bindgen -- generate \
//       --library target/aarch64-linux-android/release/libvistalid_ffi.so \
//       --language kotlin --out-dir android/target/generated-sources/uniffi
//
// The same sources as the Maven build: generated Kotlin, src/main/kotlin (idiomatic layer),
// src/android/kotlin (AndroidKeystoreKeystore), src/test/kotlin (JVM tests need the host
// library: run them with Maven).

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.4.21" // same Kotlin as pom.xml
}

android {
    namespace = "fr.vistalid"
    compileSdk = 34

    defaultConfig {
        // StrongBox and setUnlockedDeviceRequired need API 28.
        minSdk = 28
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets["main"].apply {
        java.srcDirs(
            "src/main/kotlin",
            "src/android/kotlin",
            "target/generated-sources/uniffi",
        )
        jniLibs.srcDirs("src/main/jniLibs")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // JNA as an AAR: it carries libjnidispatch.so for every Android ABI.
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
}
