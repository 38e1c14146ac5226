"""A benchmark variant in a Python process of its own, driven over stdin and stdout.

A process per variant makes its peak resident memory and the allocator's state its own.
The driver (`throughput.py`) starts a `Worker`, which starts this file's `serve` in a
child (`throughput.py --worker NAME …`); they speak one JSON line per answer:
`{"ready": true}` once the variant is set up and warmed up, `{"rate": tok/s}` per
`train`, the variant's row at `finish`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


class Worker:
    """The driver's side: a child process running `serve`.

    Args:
        cmd: the child's command line (`throughput.py --worker …`).
        variant: its name, for messages.
    """

    def __init__(self, cmd: list[str], variant: str):
        self.variant = variant
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self._answer()  # set up and warmed up

    def _answer(self) -> dict:
        for line in self.process.stdout:  # other lines are the child's own output
            if line.startswith("{"):
                return json.loads(line)
        code = self.process.wait()
        raise RuntimeError(f"the {self.variant} worker exited ({code}); its error is above")

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        return self._answer()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def serve(variant) -> None:
    """The child's side: answer `train` with `variant.train_pass()` and `finish` with
    `variant.finish()` (a `variant.Variant`), then return."""
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() == "train":
            print(json.dumps({"rate": variant.train_pass()}), flush=True)
        elif line.strip() == "finish":
            print(json.dumps(variant.finish()), flush=True)
            return


def command(script: Path, variant: str, options: list[str]) -> list[str]:
    """The child's command line: `script --worker variant options…`."""
    return [sys.executable, str(Path(script).resolve()), "--worker", variant, *options]
