"""Run every benchmark script under bench/ (`make bench`) and print what each one prints.

Each script runs in its own process with this interpreter and its default, bounded settings;
a script that fails is reported, and the others still run. The exit status is 1 when any
failed. Set BENCH_ONLY=transitions,poll to run some of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# A bound per script, so that `make bench` always ends.
TIMEOUT_SECONDS = 900


def scripts() -> list[Path]:
    """Return the benchmark scripts: every bench/*.py but this runner and helper modules."""
    only = {name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()}
    found = []
    for path in sorted(BENCH.glob("*.py")):
        if path.name == Path(__file__).name or path.name.startswith("_"):
            continue
        if only and path.stem not in only:
            continue
        if "__main__" not in path.read_text(encoding="utf-8"):
            continue  # a helper module other scripts import
        found.append(path)
    return found


def main() -> int:
    failed = []
    for path in scripts():
        print(f"=== {path.stem} ===", flush=True)
        started = time.perf_counter()
        try:
            result = subprocess.run(
                [sys.executable, str(path)],
                cwd=BENCH.parent,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(f"{path.stem}: stopped after {TIMEOUT_SECONDS} s", flush=True)
            failed.append(path.stem)
            continue
        if result.returncode != 0:
            failed.append(path.stem)
            print(f"{path.stem}: exited with status {result.returncode}", flush=True)
        print(f"({path.stem} took {time.perf_counter() - started:.0f} s)\n", flush=True)
    if failed:
        print(f"Failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
