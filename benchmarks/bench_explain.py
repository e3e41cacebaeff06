"""Time the explanation text of every transition and every recommendation, as columns.

The portfolio is the demo portfolio (``keyaccount.demo.generate``, seed 2022, ``--months``
months ending 2022-11). One run, side by side, for each language (``en``, ``zh``):

1. ``Evaluation.explanations`` of the default policy's evaluation (every customer's
   move and hold reasons), cold (the first call, which gathers what each rule cites)
   and warm; against the per-item path (``Transition.reason`` of every transition and
   hold, their objects made on a fresh evaluation).
2. ``RecommendationTable.explanations`` of ``recommend_all(5)`` for every customer
   (the sentences and a code per recommendation), cold and warm; every text joined by
   Arrow (``explanations(lang).to_arrow()``), cold and warm; in English every text as a
   Python ``str`` (``tolist``); a page of 50 (``rows=``); against
   ``Recommendation.explanation`` of the first ``--per-item`` customers'
   recommendations, extrapolated.
3. The frames with the explanation column: ``Evaluation.to_pandas`` / ``to_arrow`` and
   ``RecommendationTable.to_pandas(explanations=True)`` / ``to_arrow``.

Every bulk text is checked equal to the per-item text on the per-item sample. Each step
prints its wall time and the process's CPU time (user + system, which includes first
touches of fresh memory): on a shared machine the CPU time is close to what the step takes
alone.

    .venv/bin/python benchmarks/bench_explain.py                        # 1,000,000 customers
    .venv/bin/python benchmarks/bench_explain.py --customers 100000

Results: docs/benchmarks.md ("Explanations as columns").
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any

from _common import max_rss_mib, print_environment

from keyaccount.crosssell import CrossSellModel
from keyaccount.demo import generate
from keyaccount.rules import default_policy

AS_OF = "2022-11"
LIBRARIES = ("numpy", "pyarrow", "pandas")


class Seconds(float):
    """Wall seconds, with the process's CPU seconds (user + system) beside them."""

    cpu: float | None = None


def clock(fn: Any) -> tuple[Any, Seconds]:
    """``fn()`` and its wall time in seconds (``.cpu``: the process's CPU time)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    seconds = Seconds(time.perf_counter() - start)
    seconds.cpu = time.process_time() - cpu
    return out, seconds


def row(step: str, seconds: float, note: str = "") -> None:
    """One line of the results table: wall seconds, CPU seconds (where measured), a note."""
    cpu = getattr(seconds, "cpu", None)
    print(
        f"| {step} | {seconds:.2f} | {'' if cpu is None else f'{cpu:.2f}'} | {note} |", flush=True
    )


def main() -> None:
    """Run every step and print the table rows."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--per-item", type=int, default=10_000)
    args = parser.parse_args()
    print_environment(LIBRARIES)

    portfolio, seconds = clock(
        lambda: generate(customers=args.customers, months=args.months, end=AS_OF)
    )
    print(f"# generate: {seconds:.1f} s; {portfolio!r}")
    evaluation, seconds = clock(lambda: default_policy().evaluate(portfolio, AS_OF))
    print(f"# evaluate: {seconds:.2f} s; {evaluation!r}")
    model, fit = clock(lambda: CrossSellModel.fit(portfolio, AS_OF))
    table, rec = clock(lambda: model.recommend_all(5))
    print(f"# fit {fit:.2f} s, recommend_all(5) {rec:.2f} s; {table!r}")
    n, sample = args.customers, args.per_item
    scale = n / sample

    print("| step | wall s | cpu s | note |\n|---|---:|---:|---|")
    for lang in ("en", "zh"):
        texts, cold = clock(lambda lang=lang: evaluation.explanations(lang))
        _, warm = clock(lambda lang=lang: evaluation.explanations(lang))
        explained = int((texts != None).sum())  # noqa: E711 - elementwise over objects
        row(f"{lang}: `Evaluation.explanations`, cold", cold, f"{explained:,} customers explained")
        row(f"{lang}: `Evaluation.explanations`, warm", warm)

        fresh = default_policy().evaluate(portfolio, AS_OF)  # nothing cached yet

        def per_transition(lang: str = lang, fresh: Any = fresh) -> list[tuple[str, str]]:
            decided = (*fresh.transitions, *fresh.held)
            return [(t.customer_id, t.reason(lang)) for t in decided]

        items, seconds = clock(per_transition)
        position = {c: i for i, c in enumerate(evaluation.customer_ids.tolist())}
        assert all(t in texts[position[c]] for c, t in items), "bulk differs from per item"
        row(
            f"{lang}: `Transition.reason` of every transition and hold (objects made)",
            seconds,
            f"per item, {len(items):,} texts",
        )

        def every_text(lang: str = lang) -> Any:
            return table.explanations(lang).to_arrow()

        arrow, cold = clock(every_text)
        _, warm = clock(every_text)
        row(f"{lang}: every text: `explanations(lang).to_arrow()`, cold", cold, f"{len(arrow):,}")
        row(f"{lang}: every text: `explanations(lang).to_arrow()`, warm", warm)
        column, seconds = clock(lambda lang=lang: table.explanations(lang))
        row(f"{lang}: of which `explanations(lang)` (sentences and codes), warm", seconds)
        _, seconds = clock(column.to_arrow)
        row(f"{lang}: of which `TextColumn.to_arrow()` (every text joined), warm", seconds)
        if lang == "en":
            _, seconds = clock(column.tolist)
            row(f"{lang}: `TextColumn.tolist()` (every text as a Python `str`)", seconds)
        page, seconds = clock(lambda lang=lang: table.explanations(lang, rows=slice(0, 50)))
        row(f"{lang}: a page: `explanations(lang, rows=slice(0, 50))`", seconds)
        del column

        def per_recommendation(lang: str = lang) -> list[str]:
            first = itertools.islice(table, sample)
            return [r.explanation(lang) for _, rs in first for r in rs]

        items, seconds = clock(per_recommendation)
        assert items == arrow.slice(0, len(items)).to_pylist(), "bulk differs from per item"
        assert items[:50] == page.tolist(), "a page differs from per item"
        row(f"{lang}: `Recommendation.explanation`, {sample:,} customers", seconds, "per item")
        row(
            f"{lang}: `Recommendation.explanation`, extrapolated to {n:,}",
            seconds * scale,
            "per item",
        )
        del arrow

    for lang in ("en", "zh"):
        _, seconds = clock(lambda lang=lang: evaluation.to_pandas(lang=lang))
        row(f"{lang}: `Evaluation.to_pandas`", seconds, "with the explanation column")
        _, seconds = clock(lambda lang=lang: evaluation.to_arrow(lang=lang))
        row(f"{lang}: `Evaluation.to_arrow`", seconds)
        _, seconds = clock(lambda lang=lang: table.to_pandas(explanations=True, lang=lang))
        row(f"{lang}: `RecommendationTable.to_pandas(explanations=True)`", seconds)
        _, seconds = clock(lambda lang=lang: table.to_arrow(explanations=True, lang=lang))
        row(f"{lang}: `RecommendationTable.to_arrow(explanations=True)`", seconds)
        _, seconds = clock(lambda: table.to_pandas())
        if lang == "en":
            row("`RecommendationTable.to_pandas()` without the text", seconds)
    print(f"# peak RSS {max_rss_mib():,.0f} MiB")
    print_environment(LIBRARIES, when="end")


if __name__ == "__main__":
    main()
