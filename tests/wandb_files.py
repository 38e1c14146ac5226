"""Read what an offline W&B run wrote to disk: the records of its `run-*.wandb` file.

The file is W&B's 7-byte header followed by a LevelDB-style log (32 KiB blocks; each
chunk has a 4-byte checksum, a 2-byte little-endian length and a 1-byte type: 1 full,
2 first, 3 middle, 4 last) of `wandb_internal_pb2.Record` protobufs. Tests read it so
they check what W&B really stored, not what our code meant to send.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2 as pb

BLOCK, HEADER = 32768, 7


def records(path: Path) -> list:
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    out, pos, parts = [], HEADER, []
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # block trailer padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        chunk = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind == 0 and length == 0:
            continue
        parts.append(chunk)
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(b"".join(parts))
            out.append(rec)
            parts = []
    return out


def summary(run_dir: Path) -> dict:
    """Everything a test wants to know about the one offline run under `run_dir/wandb`."""
    files = list(Path(run_dir).glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 1, f"expected one W&B run under {run_dir}, found {files}"
    info = {
        "history_keys": set(),
        "config": {},
        "exit_code": None,
        "name": None,
        "group": None,
        "tags": [],
        "media": {},
    }
    for rec in records(files[0]):
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            for item in rec.history.item:
                key = item.key or "/".join(item.nested_key)
                info["history_keys"].add(key)
                if key.endswith("/_type"):  # media are stored as flattened dicts
                    info["media"][key.removesuffix("/_type")] = json.loads(item.value_json)
        elif kind == "config":
            for u in rec.config.update:
                info["config"][u.key or "/".join(u.nested_key)] = json.loads(u.value_json)
        elif kind == "run":
            info["name"], info["group"] = rec.run.display_name, rec.run.run_group
            info["tags"] = list(rec.run.tags)
            for u in rec.run.config.update:
                info["config"][u.key or "/".join(u.nested_key)] = json.loads(u.value_json)
        elif kind == "exit":
            info["exit_code"] = rec.exit.exit_code
    info["dir"] = files[0].parent
    return info
