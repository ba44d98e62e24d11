"""Resident memory (RSS) of each gunicorn worker, read from /proc, as JSON.

    python loadtest/memory.py MASTER_PID [MASTER_PID ...] --out start.json
    python loadtest/memory.py MASTER_PID ... --out peak.json --watch 1   # until stopped (SIGTERM)

A worker is a child process of a gunicorn master; its RSS is ``VmRSS`` in
``/proc/PID/status``. Several masters (two-host mode) are read in one go.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def snapshot(masters: list[int]) -> dict[str, dict[str, int]]:
    """``{master pid: {worker pid: RSS in KiB}}``."""
    result: dict[str, dict[str, int]] = {}
    for master in masters:
        workers = {str(pid): kib for pid in children(master) if (kib := rss_kib(pid)) is not None}
        result[str(master)] = workers
    return result


def watch(masters: list[int], out: Path, every: float) -> None:
    """Each worker's highest RSS, read every ``every`` seconds and written each time, until SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_args: stop.set())
    peak: dict[str, dict[str, int]] = {}
    while not stop.is_set():
        for master, workers in snapshot(masters).items():
            seen = peak.setdefault(master, {})
            for pid, kib in workers.items():
                seen[pid] = max(seen.get(pid, 0), kib)
        out.write_text(json.dumps(peak, indent=2) + "\n", encoding="utf-8")
        stop.wait(every)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("masters", type=int, nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--watch", type=float, default=0,
                        help="read every this many seconds until stopped, writing each worker's highest RSS")
    args = parser.parse_args()
    if args.watch > 0:
        watch(args.masters, Path(args.out), args.watch)
        return
    data = snapshot(args.masters)
    Path(args.out).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    total = sum(k for workers in data.values() for k in workers.values())
    count = sum(len(w) for w in data.values())
    print(f"memory: {count} workers, {total / 1024:.0f} MiB resident in all")


if __name__ == "__main__":
    main()
