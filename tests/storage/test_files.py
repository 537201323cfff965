"""Staging files: what is written is what is hashed, however it arrives."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from appliance.storage.files import MediaStore


def test_what_is_written_in_pieces_is_what_is_hashed(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    store.prepare_blocking()
    data = random.Random(3).randbytes(3_000_000)
    pieces: list[bytes | memoryview] = [data[:10], memoryview(data)[10:70_000], b"", data[70_000:2_000_000]]
    pieces += [memoryview(data)[i:i + 1] for i in range(2_000_000, 2_002_000)]
    pieces.append(data[2_002_000:])
    writer = store.new_staging_writer_blocking()
    for piece in pieces:
        writer.write_blocking(piece)
    staged = writer.finish_blocking()
    assert staged.size == len(data)
    assert staged.sha1 == hashlib.sha1(data).digest()
    assert staged.path.read_bytes() == data
