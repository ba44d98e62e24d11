"""Summarise a load run: pages, edits and memory, against the targets.

    python benchmarks/load_report.py test-results/load/locust [--edits edits.jsonl]
        [--memory-start start.json --memory-end end.json] [--out report.txt] [--json summary.json]
        [--assert [--failures-only]]

Pages (Locust's ``--csv PREFIX``): requests, failures, p50/p95/p99 and req/s per page type.
Edits (``loadtest/edits.py``'s JSON lines): how many of each kind, how many became visible,
and the edit-to-visible delay's p50/p95/max. Memory (``loadtest/memory.py`` snapshots after
the warm-up and at the end): each gunicorn worker's RSS and its change in %.

Targets (checked with ``--assert``):

- no failed request;
- recommendation pages (names starting "recommendations"): p95 < 300 ms and p99 < 1 s;
- every other page: p95 < 150 ms. Sign-in is listed but has no target: argon2id makes each
  password check cost CPU and memory by design, so its time is set by the hashing parameters;
- every edit visible within 10 s of its response;
- every worker's RSS at the end within 10% of its RSS after the warm-up.

``--failures-only`` (the CI smoke) checks only what does not depend on the machine's speed:
no failed request, at least one edit of each kind, and every edit became visible (within
the runner's timeout, 60 s by default).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

RECOMMENDATION_P95_MS = 300
RECOMMENDATION_P99_MS = 1000
OTHER_P95_MS = 150
EDIT_VISIBLE_S = 10.0
MEMORY_GROWTH_PCT = 10.0
NO_TARGET = ("login", "/login")  # sign-in pages, named or not (the second step is named by its path)
EDIT_KINDS = ("capability", "challenge")


def targets_for(name: str) -> dict[str, float]:
    """The page type's latency targets in ms: {"p95": ..., "p99": ...} (empty: none)."""
    if name.startswith(NO_TARGET):
        return {}
    if name.startswith("recommendations"):
        return {"p95": RECOMMENDATION_P95_MS, "p99": RECOMMENDATION_P99_MS}
    return {"p95": OTHER_P95_MS}


def read(prefix: str) -> list[dict[str, Any]]:
    rows = []
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows.append({
                "name": row["Name"], "method": row["Type"], "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]), "p50": float(row["50%"] or 0),
                "p95": float(row["95%"] or 0), "p99": float(row["99%"] or 0),
                "max": float(row["Max Response Time"] or 0), "rps": float(row["Requests/s"] or 0),
            })
    return rows


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def read_edits(path: str) -> list[dict[str, Any]]:
    file = Path(path)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


def edit_summary(edits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per kind ("capability", "challenge", "challenge opened") and for all edits together."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for edit in edits:
        groups.setdefault(edit["kind"], []).append(edit)
    if edits:
        groups["all edits"] = edits
    summary = []
    for kind, rows in groups.items():
        seen = [float(r["visible_after_s"]) for r in rows if r["visible_after_s"] is not None]
        summary.append({
            "kind": kind, "edits": len(rows), "visible": len(seen),
            "p50_s": percentile(seen, 50) if seen else None, "p95_s": percentile(seen, 95) if seen else None,
            "max_s": max(seen) if seen else None,
        })
    return summary


def memory_summary(
    start_path: str, end_path: str, first_path: str | None = None, peak_path: str | None = None
) -> list[dict[str, Any]]:
    """Each worker's RSS after the warm-up and at the end (MiB) and the change in %; with
    ``first_path``, also before the warm-up's edits (the worker still sharing the master's rankers)."""
    start = json.loads(Path(start_path).read_text(encoding="utf-8"))
    end = json.loads(Path(end_path).read_text(encoding="utf-8"))
    first = json.loads(Path(first_path).read_text(encoding="utf-8")) if first_path else {}
    peak = json.loads(Path(peak_path).read_text(encoding="utf-8")) if peak_path and Path(peak_path).exists() else {}
    rows = []
    for master, workers in start.items():
        for pid, kib in workers.items():
            after = end.get(master, {}).get(pid)
            before = first.get(master, {}).get(pid)
            highest = peak.get(master, {}).get(pid)
            rows.append({"master": master, "worker": pid, "start_mib": kib / 1024,
                         "peak_mib": None if highest is None else highest / 1024,
                         "before_edits_mib": None if before is None else before / 1024,
                         "end_mib": None if after is None else after / 1024,
                         "change_pct": None if after is None else (after - kib) * 100 / kib})
    return rows


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefix", help="the --csv prefix given to locust")
    parser.add_argument("--edits", help="the edits' JSON lines (loadtest/edits.py, LOAD_EDITS_OUT)")
    parser.add_argument("--memory-first", help="loadtest/memory.py snapshot before the warm-up's edits (shown, not judged)")
    parser.add_argument("--memory-start", help="loadtest/memory.py snapshot after the warm-up")
    parser.add_argument("--memory-peak", help="loadtest/memory.py --watch: each worker's highest RSS during the run (shown)")
    parser.add_argument("--memory-end", help="loadtest/memory.py snapshot at the end")
    parser.add_argument("--assert", dest="check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--failures-only", action="store_true",
                        help="with --assert: check failures and that edits became visible, no latency or memory")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--out", help="also write the printed report to this file")
    parser.add_argument("--title", default="", help="a first line for the report (date, machine, settings)")
    args = parser.parse_args()

    lines: list[str] = [args.title] if args.title else []
    missed: list[str] = []
    rows = read(args.prefix)
    total = next((r for r in rows if r["name"] == "Aggregated"), None)
    pages = sorted((r for r in rows if r["name"] != "Aggregated" and r["method"] != "EDIT"), key=lambda r: str(r["name"]))
    lines.append(f"{'page type':<46} {'method':<6} {'requests':>8} {'fail':>5} {'req/s':>6} "
                 f"{'p50':>6} {'p95':>6} {'p99':>6}  targets (ms)")
    for r in pages:
        targets = targets_for(str(r["name"]))
        verdicts = []
        for stat, limit in targets.items():
            ok = r[stat] < limit
            verdicts.append(f"{stat} < {limit:.0f} {'ok' if ok else 'MISSED'}")
            if not ok:
                missed.append(f"{r['name']} {stat} {r[stat]:.0f} ms >= {limit:.0f} ms")
        lines.append(f"{r['name']:<46} {r['method']:<6} {r['requests']:>8} {r['failures']:>5} {r['rps']:>6.2f} "
                     f"{r['p50']:>6.0f} {r['p95']:>6.0f} {r['p99']:>6.0f}  {', '.join(verdicts) or '-'}")
    page_requests = sum(int(r["requests"]) for r in pages)
    page_failures = sum(int(r["failures"]) for r in pages)
    page_rps = sum(float(r["rps"]) for r in pages)
    lines.append(f"{'all pages':<46} {'':<6} {page_requests:>8} {page_failures:>5} {page_rps:>6.2f}")

    edits = read_edits(args.edits) if args.edits else []
    edit_rows = edit_summary(edits)
    edit_problems: list[str] = []
    if args.edits:
        lines.append("")
        lines.append(f"{'edit-to-visible':<46} {'edits':>6} {'visible':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7}"
                     f"  target: all visible < {EDIT_VISIBLE_S:.0f} s")

        def fmt(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        for e in edit_rows:
            late = e["visible"] < e["edits"] or (e["max_s"] is not None and e["max_s"] >= EDIT_VISIBLE_S)
            lines.append(f"{e['kind']:<46} {e['edits']:>6} {e['visible']:>8} {fmt(e['p50_s']):>7} {fmt(e['p95_s']):>7} "
                         f"{fmt(e['max_s']):>7}  {'MISSED' if late else 'ok'}")
            if e["kind"] != "all edits":
                if e["visible"] < e["edits"]:
                    edit_problems.append(f"{e['edits'] - e['visible']} {e['kind']} edit(s) never became visible")
                if late and e["max_s"] is not None and e["max_s"] >= EDIT_VISIBLE_S:
                    missed.append(f"{e['kind']} edits visible after up to {e['max_s']:.1f} s >= {EDIT_VISIBLE_S:.0f} s")
        kinds = {e["kind"].split()[0] for e in edits}
        edit_problems += [f"no {kind} edit was made" for kind in EDIT_KINDS if kind not in kinds]

    memory_rows: list[dict[str, Any]] = []
    if args.memory_start and args.memory_end:
        memory_rows = memory_summary(args.memory_start, args.memory_end, args.memory_first, args.memory_peak)
        lines.append("")
        lines.append(f"{'gunicorn worker (master/worker pid)':<46} {'before edits':>12} {'after warm-up MiB':>18} "
                     f"{'peak':>6} {'end MiB':>8} {'change':>8}  target: within {MEMORY_GROWTH_PCT:.0f}%")
        for m in memory_rows:
            if m["change_pct"] is None:
                lines.append(f"{m['master'] + '/' + m['worker']:<46} {_mib(m['before_edits_mib']):>12} {m['start_mib']:>18.0f} "
                             f"{_mib(m['peak_mib']):>6} {'gone':>8} {'-':>8}  MISSED (restarted)")
                missed.append(f"worker {m['worker']} was replaced during the run")
                continue
            ok = abs(m["change_pct"]) <= MEMORY_GROWTH_PCT
            lines.append(f"{m['master'] + '/' + m['worker']:<46} {_mib(m['before_edits_mib']):>12} {m['start_mib']:>18.0f} "
                         f"{_mib(m['peak_mib']):>6} {m['end_mib']:>8.0f} {m['change_pct']:>+7.1f}%  {'ok' if ok else 'MISSED'}")
            if not ok:
                missed.append(f"worker {m['worker']} RSS changed {m['change_pct']:+.1f}% (> {MEMORY_GROWTH_PCT:.0f}%)")

    failures = int(total["failures"]) if total else page_failures
    # Errors raised in the simulated users themselves (a form not found, a sign-in refused).
    exceptions = 0
    exceptions_file = Path(f"{args.prefix}_exceptions.csv")
    if exceptions_file.exists():
        with exceptions_file.open(newline="", encoding="utf-8") as handle:
            exceptions = sum(int(row["Count"]) for row in csv.DictReader(handle))
    if exceptions:
        lines.append(f"\n{exceptions} errors in the simulated users (see {exceptions_file})")
    verdict = 0
    if args.check:
        problems = ([f"{failures} failed requests (edits not visible in time included)"] if failures else [])
        problems += [f"{exceptions} errors in the simulated users"] if exceptions else []
        problems += edit_problems + ([] if args.failures_only else missed)
        lines.append("")
        if problems:
            lines.append("TARGETS MISSED: " + "; ".join(dict.fromkeys(problems)))
            verdict = 1
        else:
            lines.append("targets met" + (" (failures and edit visibility only)" if args.failures_only else ""))
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(report + "\n", encoding="utf-8")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"pages": pages, "total": total, "edits": edit_rows,
                                               "memory": memory_rows, "missed": missed}, indent=2) + "\n",
                                   encoding="utf-8")
    return verdict


if __name__ == "__main__":
    sys.exit(main())
