// SPDX-License-Identifier: Apache-2.0
//
// The Vistalid module: the generated bindings (``DeviceKey``, ``VistalidError``,
// ``PlatformKeystore``…) plus Swift sugar. Apps import only `Vistalid`.

@_exported import VistalidBindings
