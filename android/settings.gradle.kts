// SPDX-License-Identifier: Apache-2.0
//
// Gradle build for Android Studio users. NOT run by this repository's CI: there is no
// Android SDK and no Gradle distribution on the build machines. CI builds and tests the same
// sources with Maven (pom.xml, scripts/test-kotlin.sh).

pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "vistalid-android"
