// Package demo is `ota-agent demo` as a library, and the simulated board the
// end-to-end suite runs the real binary against. It needs no configuration,
// no root and no network: everything listens on 127.0.0.1 or sits in a work
// directory.
//
// # The board
//
// StartDevice builds a camera board in a directory: file-backed A/B root
// filesystem slots with a redundant U-Boot environment (a file-based
// fw_env.config) and a kernel command line file (flasher/ab/abtest, whose
// Rig.Boot plays the bootloader by the scheme's rules), a simulated STM32F103
// (flasher/stm32/stm32test) and a simulated ESP32 Wi-Fi module
// (flasher/esprom/espromtest) on ptys (platform/serial/serialtest), and a file
// component. A pty has no DTR/RTS, so the MCU's reset-into-bootloader wiring
// is a FIFO that the agent's enter_command writes to.
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
//   - mxchip: ota_type 0 is the MCU and 1 the Wi-Fi module; the API has no
//     root filesystem, so the rootfs is installed by hand. The skipped offer is
//     an older Wi-Fi firmware. Version reports (PUT /api/v1/ota/version/) follow
//     every change.
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
//
// The Wi-Fi module is an ESP32 (type esp): this build has no ymodem target
// yet, so the MXChip module (ymodemtest with its CLI front end) cannot be
// flashed by the agent.
package demo
