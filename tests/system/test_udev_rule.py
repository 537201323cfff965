"""Which block devices 99-shoebox-import.rules hands to shoebox-import@.service.

This machine has no udevd database (no ID_* properties) and udevadm 252 has no `verify`, so the rule is
run by a small evaluator of the subset of udev's rule language it uses (match ==/!= with globs and `|`
alternatives, assignments, GOTO/LABEL), fed the properties udev gives such devices.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "systemd" / "99-shoebox-import.rules"
TOKEN = re.compile(r'\s*([A-Z_]+(?:\{[A-Za-z_]+\})?)\s*(==|!=|\+=|=)\s*"([^"]*)"\s*,?')
SUPPORTED_KEYS = re.compile(r"^(ACTION|SUBSYSTEM|KERNEL|TAG|GOTO|LABEL|ENV\{\w+\})$")


def _parse(text: str) -> list[list[tuple[str, str, str]]]:
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tokens, pos = [], 0
        while pos < len(line):
            match = TOKEN.match(line, pos)
            assert match, f"cannot parse {line[pos:]!r}"
            assert SUPPORTED_KEYS.match(match.group(1)), f"the evaluator does not know {match.group(1)}"
            tokens.append(match.groups())
            pos = match.end()
        rules.append(tokens)
    return rules


def _matches(value: str, pattern: str) -> bool:
    return any(fnmatch.fnmatchcase(value, alternative) for alternative in pattern.split("|"))


def run_rules(device: dict[str, str]) -> dict[str, str]:
    """Apply the rules to an event (`ACTION`, `SUBSYSTEM`, `KERNEL` and ENV properties); return the result."""
    rules = _parse(RULES.read_text())
    labels = {tokens[0][2]: i for i, tokens in enumerate(rules) if tokens[0][0] == "LABEL"}
    env = dict(device)
    tags: list[str] = []
    i = 0
    while i < len(rules):
        jump = None
        for key, op, value in rules[i]:
            name = key[4:-1] if key.startswith("ENV{") else key
            if op in ("==", "!="):
                if _matches(env.get(name, ""), value) != (op == "=="):
                    break
            elif key == "GOTO":
                jump = labels[value]
            elif key == "TAG":
                tags.append(value)
            elif op == "+=":
                env[name] = " ".join(filter(None, [env.get(name, ""), value.replace("%k", device["KERNEL"])]))
            elif key != "LABEL":
                env[name] = value
        else:
            if jump is not None:
                i = jump
                continue
        i += 1
    return {"TAGS": " ".join(tags), "SYSTEMD_WANTS": env.get("SYSTEMD_WANTS", "")}


def _device(kernel: str, **env: str) -> dict[str, str]:
    base = {
        "ACTION": "add",
        "SUBSYSTEM": "block",
        "KERNEL": kernel,
        "DEVTYPE": "partition",
        "ID_FS_USAGE": "filesystem",
        "ID_FS_TYPE": "vfat",
        "ID_FS_LABEL": "EOS_DIGITAL",
    }
    return base | env


@pytest.mark.parametrize(
    ("device", "wanted"),
    [
        (_device("sdb1", ID_BUS="usb"), "shoebox-import@sdb1.service"),
        (_device("sdb", ID_BUS="usb", DEVTYPE="disk"), "shoebox-import@sdb.service"),  # superfloppy card
        (_device("mmcblk1p1"), "shoebox-import@mmcblk1p1.service"),  # built-in SD reader
        (_device("sdb1", ID_BUS="usb", ACTION="change"), "shoebox-import@sdb1.service"),  # keep the tag
    ],
)
def test_usb_and_sd_partitions_with_a_filesystem_want_the_import_unit(
    device: dict[str, str], wanted: str
) -> None:
    result = run_rules(device)
    assert result == {"TAGS": "systemd", "SYSTEMD_WANTS": wanted}


@pytest.mark.parametrize(
    "device",
    [
        _device("mmcblk0p2", ID_FS_TYPE="ext4", ID_FS_LABEL=""),  # the Pi's boot card
        _device("sda2", ID_BUS="usb", ID_FS_LABEL="rootfs"),  # booted from a USB SSD
        _device("sda3", ID_BUS="usb", ID_FS_LABEL="shoebox-data"),
        _device("sdb1", ID_BUS="usb", ID_FS_USAGE="raid"),
        _device("sdb1", ID_BUS="usb", ID_FS_USAGE=""),  # no filesystem
        _device("nvme0n1p1", ID_BUS="nvme"),  # internal disk of a mini-PC
        _device("sdb1", ID_BUS="usb", ACTION="remove"),
        _device("sdb1", ID_BUS="usb", SUBSYSTEM="usb"),
        _device("sdb1", ID_BUS="usb", UDISKS_IGNORE="1"),
    ],
)
def test_system_disks_and_non_filesystems_are_left_alone(device: dict[str, str]) -> None:
    assert run_rules(device) == {"TAGS": "", "SYSTEMD_WANTS": ""}
