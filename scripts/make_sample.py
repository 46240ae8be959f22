"""Build the bundled sample corpus from ../shared/data/demo/papers.jsonl (run once, output committed).

Keeps the most recently listed papers so the trending lists of the sample look alive.
Usage: python scripts/make_sample.py ../shared/data/demo/papers.jsonl src/papertide/data/sample_papers.jsonl.gz
"""

from __future__ import annotations

import gzip
import json
import sys

SAMPLE_SIZE = 4000


def main(source: str, target: str) -> None:
    with open(source, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    records.sort(key=lambda r: (r["daily_date"], r["arxiv_id"]), reverse=True)
    kept = sorted(records[:SAMPLE_SIZE], key=lambda r: (r["daily_date"], r["arxiv_id"]))
    with gzip.open(target, "wt", encoding="utf-8", compresslevel=9) as out:
        for record in kept:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
