"""Classify every difference between two passage dumps of benchmarks/dump_passages.py.

Run from the repository root::

    git show REV:tests/data/passages.jsonl > before.jsonl
    python benchmarks/compare_passages.py before.jsonl tests/data/passages.jsonl

Each passage of AFTER is counted as ``same``, ``context only`` (its list context changed),
``joined N`` (exactly N consecutive passages of BEFORE, one section, joined with spaces
over their span) or ``other``; each passage of BEFORE covered by none of AFTER as
``dropped, wordless`` (no letter or digit) or ``dropped``. ``other`` and ``dropped`` ones
are printed: those are the differences a reader change must explain one by one.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path


def load(path: Path) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out[(row["corpus"], row["document"])].append(row)
    return out


def _bare(p: dict) -> tuple:
    return p["start"], p["end"], p["text"], p["section"], tuple(p["parents"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    before, after = load(args.before), load(args.after)
    counts: Counter[str] = Counter()
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, []), after.get(key, [])
        by_bare = {_bare(p): p for p in old}
        for p in new:
            match = by_bare.get(_bare(p))
            if match is not None:
                counts["same" if match["context"] == p["context"] else "context only"] += 1
                continue
            run = [o for o in old if p["start"] <= o["start"] and o["end"] <= p["end"]]
            if (len(run) > 1 and run[0]["start"] == p["start"] and run[-1]["end"] == p["end"]
                    and all(_bare(o)[3:] == _bare(p)[3:] for o in run)
                    and " ".join(o["text"] for o in run) == p["text"]):
                counts[f"joined {len(run)}"] += 1
            else:
                counts["other"] += 1
                print(f"other   {key[0]}/{key[1]} {p['start']}-{p['end']}: {p['text'][:90]!r}")
        for o in old:
            if not any(p["start"] <= o["start"] and o["end"] <= p["end"] for p in new):
                wordless = not any(ch.isalnum() for ch in o["text"])
                counts["dropped, wordless" if wordless else "dropped"] += 1
                if not wordless:
                    print(f"dropped {key[0]}/{key[1]} {o['start']}-{o['end']}: {o['text'][:90]!r}")
    for label, count in sorted(counts.items()):
        print(f"{label}: {count}")


if __name__ == "__main__":
    main()
