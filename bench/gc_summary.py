"""Sums what bench/gcprobe recorded: each process's garbage collections from the run's start on (issue 13).

The run's start is taken as the start of its delivery helpers (the processes born last, within
``--helpers`` of them), so the setup before the timed run is left out.

    .venv/bin/python -m bench.gc_summary /tmp/gc --helpers 3
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--helpers", type=int, default=3, help="delivery helper processes of the run (workers - 1)")
    args = parser.parse_args()
    processes = []
    for path in sorted(args.folder.glob("gc-*.txt")):
        head, *rows = path.read_text(encoding="utf-8").splitlines()
        fields = dict(item.split("=", 1) for item in head.split())
        processes.append((float(fields["born"]), head, [row.split() for row in rows]))
    if len(processes) < args.helpers:
        raise SystemExit(f"{args.folder}: {len(processes)} processes recorded, fewer than --helpers {args.helpers}")
    run_start = sorted(born for born, _, _ in processes)[-args.helpers] - 1.0
    for _, head, rows in processes:
        timed = [row for row in rows if float(row[0]) >= run_start]
        if not timed:
            continue
        parts = []
        for generation in range(3):
            seconds = [float(row[2]) for row in timed if int(row[1]) == generation]
            parts.append(f"gen{generation} {len(seconds)} x = {sum(seconds):.3f} s")
        total = sum(float(row[2]) for row in timed)
        print(f"{head}\n  in the run: {'; '.join(parts)}; all {total:.2f} s")


if __name__ == "__main__":
    main()
