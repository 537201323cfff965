"""Which block devices are cards, the debouncer, and the real udev source where netlink is available."""

from __future__ import annotations

import asyncio

import pytest

from appliance.importer.devices import BlockDevice, Debouncer, DeviceEvent, from_properties, importable

CARD = BlockDevice(name="sdb1", devnode="/dev/sdb1", disk="sdb", fs_type="vfat", fs_uuid="1", label="X", bus="usb")


@pytest.mark.parametrize(
    ("device", "reason"),
    [
        (CARD, None),
        (BlockDevice(name="sdb", disk="sdb", devtype="disk", fs_type="exfat", bus="usb"), None),  # superfloppy
        (BlockDevice(name="mmcblk1p1", disk="mmcblk1", fs_type="vfat"), None),  # built-in SD reader
        (BlockDevice(name="mmcblk0p2", disk="mmcblk0", fs_type="ext4"), "system"),  # the Pi's boot card
        (BlockDevice(name="sda2", disk="sda", fs_type="ext4", bus="usb"), "system"),  # booted from USB
        (BlockDevice(name="nvme0n1p1", disk="nvme0n1", fs_type="ext4", bus="nvme"), "bus"),
        (BlockDevice(name="sdc1", disk="sdc", fs_type="", fs_usage="", bus="usb"), "filesystem"),
        (BlockDevice(name="sdc2", disk="sdc", fs_type="linux_raid_member", fs_usage="raid", bus="usb"), "usage"),
        (BlockDevice(name="sdc3", disk="sdc", fs_type="swap", fs_usage="other", bus="usb"), "usage"),
    ],
)
def test_only_removable_cards_with_a_filesystem_are_importable(device: BlockDevice, reason: str | None) -> None:
    why = importable(device, {"mmcblk0", "sda"})
    assert (why is None) if reason is None else (why is not None and reason in why)


def test_udev_properties_become_a_device() -> None:
    device = from_properties("sdb1", {"DEVTYPE": "partition", "ID_FS_TYPE": "vfat", "ID_FS_USAGE": "filesystem",
                                      "ID_FS_UUID": "1234-ABCD", "ID_FS_LABEL": "EOS_DIGITAL", "ID_BUS": "usb",
                                      "ID_SERIAL_SHORT": "000123"}, disk="sdb")
    assert device == BlockDevice(name="sdb1", devnode="/dev/sdb1", devtype="partition", disk="sdb", fs_type="vfat",
                                 fs_usage="filesystem", fs_uuid="1234-ABCD", label="EOS_DIGITAL", bus="usb",
                                 serial="000123")


async def test_debouncer_acts_once_on_the_last_state() -> None:
    debouncer = Debouncer(0.05)
    for action in ("add", "change", "remove", "add", "change"):
        debouncer.push(DeviceEvent(action, CARD))
    event = await asyncio.wait_for(debouncer.ready.get(), 1)
    assert event.action == "add"
    debouncer.push(DeviceEvent("add", CARD))
    debouncer.push(DeviceEvent("remove", CARD))
    assert (await asyncio.wait_for(debouncer.ready.get(), 1)).action == "remove"
    await asyncio.sleep(0.1)
    assert debouncer.ready.empty()


async def test_udev_source_enumerates_present_block_devices() -> None:
    try:
        from appliance.importer.devices import UdevEventSource

        source = UdevEventSource()
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"no udev netlink monitor here: {err}")
    events = source.events()
    first = await asyncio.wait_for(anext(events), 5)  # devices present at start come as "add"
    assert first.action == "add" and first.device.name
    assert isinstance(source.system_disks(), set)
    await source.close()
    await events.aclose()
