// Package demo is `ota-sim demo` as a library, and the simulated board the
// end-to-end suite of cmd/ota-agent runs the real binary against. It needs
// no configuration, no root and no network: everything listens on 127.0.0.1
// or sits in a work directory.
//
// It lives under cmd/internal because only the two commands use it: ota-sim
// links it, and cmd/ota-agent's tests import it; the device binary never
// does (cmd/ota-agent/deps_test.go). It is not a fake of one package, so it
// is not a <pkg>test package; it assembles those fakes into a board.
//
// # The board
//
// StartDevice builds a camera board in a directory: file-backed A/B root
// filesystem slots with a redundant U-Boot environment (a file-based
// fw_env.config) and a kernel command line file (flasher/ab/abtest, whose
// Rig.Boot plays the bootloader by the scheme's rules), three serial parts on
// ptys (platform/serial/serialtest) and a file component:
//
//   - mcu (type stm32): a simulated STM32F103 ROM bootloader
//     (flasher/stm32/stm32test, AN3155);
//   - wifi (type ymodem, cli = "mxchip", command = "FWUPDATE"): a simulated
//     MXChip Wi-Fi module (flasher/ymodem/ymodemtest): banner and MXCHIP>
//     prompt, FWUPDATE, "Waiting for the file to be sent", an AN4657-strict
//     YMODEM-1K receiver, "Successfully!", BOOT;
//   - radio (type esp): a simulated ESP32 ROM loader
//     (flasher/esprom/espromtest), so that every serial type the agent
//     builds is covered; the end-to-end suite uses it, the demo does not.
//
// A pty has no DTR/RTS, so the reset-into-bootloader wiring of the MCU and
// of the Wi-Fi module is a FIFO each (mcu-reset, wifi-reset) that the
// agent's enter_command writes a line to. A reset of the Wi-Fi module ends
// whatever it was doing (the booted application, a transfer cut by a power
// loss) and starts its bootloader afresh.
//
// # How each API reaches the three parts
//
// The agent installs one offer into one component. What an API can offer
// decides what the demo takes from it; the rest is installed by hand with
// `ota-agent install --component C --md5 M --version V URL`, as a field
// engineer would:
//
//   - aliyun: ListOTAFirmware modules map to components ([server.aliyun]
//     modules: default → rootfs, mcu → mcu, wifi → wifi), so all three come
//     from the API, each URL fetched with QueryOTAFirmware right before its
//     download. The skipped offer is an MCU package older than the running
//     version; the vendor then publishes the proper one.
//   - mxchip: ota_type 0 is the MCU (→ the stm32 component mcu) and 1 the
//     Wi-Fi module (→ the ymodem component wifi); the API has no root
//     filesystem, so the rootfs is installed by hand. The skipped offer is an
//     older Wi-Fi firmware. Each install queues a version report
//     (PUT /api/v1/ota/version/ with device_id, mcu_version, wifi_version),
//     sent in order after the install; the one after the Wi-Fi install,
//     which comes after the MCU's, carries both new versions. mxchiptest
//     records every accepted PUT (Server.Reports), which the demo prints.
//   - akaso: one entry per device model, for one component (the rootfs); the
//     MCU and Wi-Fi images are installed by hand first. The skipped offer is an
//     entry whose min_version_name the device does not meet.
//   - upgradelink: one strategy per kind and key, for one component (the
//     rootfs, versionCode integers); MCU and Wi-Fi by hand. The offer is a
//     prompt (upgradeType 1): check shows it held, `update --yes` approves it.
//
// A .zip with manifest.json could carry all three parts in one AKASO or
// UpgradeLink offer, but the agent installs only the entry of the offer's own
// component (agent.installImage), so the demo does not pretend otherwise.
package demo
