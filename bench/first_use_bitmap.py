"""A date filter's first-use bitmap over a million rows: each id's row looked up, or the days' mask packed (issue 13).

What ``MappedIndex._admit`` (search/semantic/mapped.py) does on a first use, alone: before,
the allowed ids' rows looked up (admitted.py ``rows_in``), marked and packed; now, where the
snapshot's rows follow its papers (semantic/selections.py), the mask the ids came from packed as
it is. Both bitmaps are asserted equal; thread CPU, medians of alternated runs. Also the one
check per opened snapshot that its rows follow its papers. Usage:

    python -m bench.first_use_bitmap [--rows 1000000] [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from papertide.search.semantic.admitted import Admitted, admit, row_lookup, rows_in


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    n = args.rows
    rng = np.random.default_rng(0)
    row_ids = np.arange(1, n + 1, dtype=np.int64)
    lookup = row_lookup(row_ids)
    assert lookup is not None
    hidden = np.zeros(0, dtype=np.int64)
    for share in (0.178, 0.092, 0.03):  # since:2024-01-01, until:2016-01-01 and cat:cs.LG since:2024-01-01 at 1 M
        mask = rng.random(n) < share
        ids = np.flatnonzero(mask) + 1
        looked_up, packed = [], []
        for _ in range(args.runs):
            started = time.thread_time_ns()
            rows = rows_in(lookup, ids)
            before = Admitted.of(admit(n, rows[rows >= 0], hidden))
            looked_up.append(time.thread_time_ns() - started)
            started = time.thread_time_ns()
            after = Admitted.of(mask)
            packed.append(time.thread_time_ns() - started)
        assert np.array_equal(before.bitmap, after.bitmap) and before.count == after.count
        print(
            f"{len(ids):>9,} of {n:,} rows: rows looked up {statistics.median(looked_up) / 1e6:.3f} ms, "
            f"mask packed {statistics.median(packed) / 1e6:.3f} ms CPU (median of {args.runs})"
        )
    papers = row_ids.copy()
    checks = []
    for _ in range(20):
        started = time.thread_time_ns()
        assert np.array_equal(papers, row_ids)
        checks.append(time.thread_time_ns() - started)
    print(f"rows follow the papers (once per snapshot): {statistics.median(checks) / 1e6:.3f} ms CPU")


if __name__ == "__main__":
    main()
