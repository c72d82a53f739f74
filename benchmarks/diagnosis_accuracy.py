"""How often the diagnosis agrees with the labelled corpus of real learning curves.

Reads ``tests/diagnosis/corpus.json.gz`` (built by ``benchmarks/diagnosis_corpus.py``:
real runs on digits, piximi-mnist, synthetic cells and a synthetic grid folder, each
labelled by written rules on its curves) and runs :func:`tunelab.diagnosis.diagnose` on
every run. Prints, side by side: overall accuracy with its Wilson 95 % interval, accuracy
per data set and per labelled verdict, the confusion matrix (rows: label, columns:
diagnosis), how often a labelled second problem is named too, the runs it gets wrong,
and the two rules that must never break (no "train longer" at chance; overfitting first
when training accuracy >= 99 % and validation loss >= 1.5 x its minimum and above it by
at least 0.05 x the starting loss).

    python benchmarks/diagnosis_accuracy.py [--corpus FILE]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "diagnosis" / "corpus.json.gz"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def start_loss(record: dict[str, Any]) -> float:
    losses = [float(b["loss"]) for b in record["batches"][:5]]
    return min(losses[0], sorted(losses)[len(losses) // 2])


def broken_rules(record: dict[str, Any], d: Any) -> list[str]:
    """The two rules on the advice, checked on one run's curves and diagnosis."""
    rows = record["epochs"]
    out = []
    k = int(record["summary"]["num_classes"])
    if rows and float(rows[-1]["val_accuracy"]) <= 1 / k + 0.05:
        if "epochs" in d.next_step or "train longer" in d.text.lower():
            out.append("train longer at chance")
    val = [float(r["val_loss"]) for r in rows]
    if (
        rows
        and all(math.isfinite(v) for v in val)
        and float(rows[-1]["train_accuracy"]) >= 0.99
        and val[-1] >= 1.5 * min(val)
        and val[-1] - min(val) >= 0.05 * start_loss(record)
        and d.verdict != "overfitting"
    ):
        out.append("memorised but not overfitting")
    return out


def main(argv: list[str] | None = None) -> int:
    from tunelab.diagnosis import VERDICTS, diagnose

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    with gzip.open(args.corpus, "rt", encoding="utf-8") as handle:
        records = json.load(handle)["runs"]
    confusion: dict[tuple[str, str], int] = {}
    by_data: dict[str, list[int]] = {}
    by_label: dict[str, list[int]] = {}
    wrong, broken, also_named, also_total = [], [], 0, 0
    for record in records:
        summary = {**record["summary"], "classes": list(range(record["summary"]["num_classes"]))}
        d = diagnose(record["epochs"], record["batches"], summary, record["knobs"])
        ok = d.verdict == record["label"]
        confusion[record["label"], d.verdict] = confusion.get((record["label"], d.verdict), 0) + 1
        by_data.setdefault(record["data"], []).append(ok)
        by_label.setdefault(record["label"], []).append(ok)
        if not ok:
            wrong.append(f"  {record['id']:<28} label {record['label']:<12} got {d.verdict}")
        for also in record["also"]:
            also_total += 1
            also_named += also in [item["verdict"] for item in d.secondary]
        broken += [f"  {record['id']}: {rule}" for rule in broken_rules(record, d)]
    n, k = len(records), sum(sum(v) for v in by_data.values())
    low, high = wilson(k, n)
    print(f"corpus: {args.corpus.name}, {n} real runs on {len(by_data)} data sets")
    print(
        f"accuracy: {k}/{n} = {100 * k / n:.1f} % "
        f"(Wilson 95 %: {100 * low:.1f} to {100 * high:.1f} %)"
    )
    print("\nper data set:")
    for data, oks in sorted(by_data.items()):
        print(f"  {data:<14} {sum(oks):>3}/{len(oks):<3} {100 * sum(oks) / len(oks):5.1f} %")
    print("\nper labelled verdict:")
    for verdict in VERDICTS:
        oks = by_label.get(verdict, [])
        if oks:
            print(f"  {verdict:<14} {sum(oks):>3}/{len(oks):<3} {100 * sum(oks) / len(oks):5.1f} %")
    short = {v: v[:5] for v in VERDICTS}
    print("\nconfusion (rows: label, columns: diagnosis):")
    print(" " * 16 + " ".join(f"{short[v]:>5}" for v in VERDICTS))
    for label in VERDICTS:
        cells = [confusion.get((label, v), 0) for v in VERDICTS]
        print(f"  {label:<14}" + " ".join(f"{c or '.':>5}" for c in cells))
    print(f"\nsecond problem named: {also_named}/{also_total} labelled second problems")
    print(f"rules broken: {len(broken)}")
    print("\n".join(broken))
    print(f"wrong: {len(wrong)}")
    print("\n".join(wrong))
    return 0


if __name__ == "__main__":
    sys.exit(main())
