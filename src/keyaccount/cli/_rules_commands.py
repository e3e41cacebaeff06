"""``keyaccount rules check``, ``keyaccount evaluate`` and ``keyaccount backtest``.

Three click commands for the rule engine, registered in the ``keyaccount``
group like any other subcommand:

- ``rules`` (a group): ``rules check FILE`` loads a policy file and prints
  the validation findings; ``rules default`` prints the default policy.
- ``evaluate``: evaluate a policy as of a month and print the transitions
  with their explanations (a dry run unless ``--apply``).
- ``backtest``: run one policy, or two to compare them, month by month.

The portfolio comes from the demo generator (``--demo``, with ``--seed`` and
``--customers``) or from a store database (``--db``: a SQLite file or a
database URL, see ``keyaccount.store``), exactly one of them
(:func:`~keyaccount.cli._source.portfolio_source`); ``evaluate --db ...
--apply`` records the transitions in the store's history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from keyaccount.cli._app import PERIOD, count_option, error_message, lang_option
from keyaccount.cli._numbers import DASH, count
from keyaccount.cli._output import Section, emit, format_option, message, section_option
from keyaccount.cli._render import segment_label, tier_label
from keyaccount.cli._render_policy import reason_text
from keyaccount.cli._source import portfolio_source
from keyaccount.domain import TIERS, Segment, Tier
from keyaccount.exceptions import PolicyValidationError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from keyaccount.cli._source import PortfolioSource
    from keyaccount.domain import Period
    from keyaccount.portfolio import Portfolio
    from keyaccount.rules import Backtest, Evaluation, Policy, Transition
    from keyaccount.store import Store

__all__ = [
    "BACKTEST_SECTIONS",
    "EVALUATE_SECTIONS",
    "backtest_command",
    "backtest_sections",
    "evaluate",
    "evaluation_sections",
    "rules",
]

DEMO_CUSTOMERS = 2000
"""Customers in the demo portfolio these commands generate by default."""


def _load(path: str | None) -> Policy:
    from keyaccount.rules import Policy, default_policy  # imported when a command runs

    return default_policy() if path is None else Policy.load(path)


def _label(value: Tier | Segment | None, lang: str) -> str:
    return tier_label(value, lang) if isinstance(value, Tier) else segment_label(value, lang)


def _latest(portfolio: Portfolio) -> Period:
    span = portfolio.period_span
    if span is None:
        raise click.UsageError("the portfolio has no revenue; give --as-of")
    return span[1]


rules_option = click.option(
    "--rules",
    "rules_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Policy file (TOML) [default: the policy shipped with keyaccount].",
)
seed_option = count_option("--seed", default=None, minimum=0, help="Seed of the demo portfolio.")
customers_option = count_option(
    "--customers", default=DEMO_CUSTOMERS, help="Customers in the demo portfolio."
)


# ---------------------------------------------------------------- rules check

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "problems": "{file}: {n} problems",
        "problem": "  error: {message}",
        "policy": "{file}: policy {policy!r}, {tier} tier rules, {segment} segment rules, "
        "min_months_in_tier = {months}",
        "finding": "  {severity}: {message} [{code}]",
        "findings": "{errors} errors, {warnings} warnings, {notes} notes",
        "ERROR": "error",
        "WARNING": "warning",
        "INFO": "info",
        "head": "policy {policy!r} as of {month}: {customers} customers, {tier} tier and "
        "{segment} segment transitions, {held} demotions held, {stays} stays",
        "move": "  {before} -> {after}: {n}",
        "transitions": "transitions:",
        "line": "  {customer}  {before} -> {after}  [{rule}]  {why}",
        "more": "  ... and {n} more (--limit)",
        "held": "held demotions:",
        "recorded": "recorded {n} changes in {url}",
        "applied": "applied {n} transitions to the demo portfolio in memory (nothing is stored)",
        "dry_run": "dry run: nothing was changed (use --apply to apply)",
        "backtest": "backtest {first}..{last}, {n} customers",
        "per_month": "tier transitions per month:",
        "month": "month",
        "total": "total",
        "from_to": "{policy}: from x to over all months:",
        "tiers_after": "customers per tier after {month}:",
        "moved_twice": "customers moved twice or more: {a} vs {b}",
        "differing": "customers whose tiers differ in some month: {n}",
        "timeline": "{customer} under {policy!r}: {steps}",
    },
    "zh": {
        "problems": "{file}：{n}个问题",
        "problem": "  错误：{message}",
        "policy": "{file}：规则集“{policy}”，层级规则{tier}条，行业规则{segment}条，"
        "min_months_in_tier = {months}",
        "finding": "  {severity}：{message}［{code}］",
        "findings": "错误{errors}个，警告{warnings}个，提示{notes}个",
        "ERROR": "错误",
        "WARNING": "警告",
        "INFO": "提示",
        "head": "规则集“{policy}”（截至{month}）：客户{customers}个，层级调整{tier}个，"
        "行业调整{segment}个，暂缓降级{held}个，维持不变{stays}个",
        "move": "  {before} → {after}：{n}",
        "transitions": "调整明细：",
        "line": "  {customer}  {before} → {after}  规则“{rule}”  {why}",
        "more": "  ……另有{n}个未列出（--limit）",
        "held": "暂缓降级：",
        "recorded": "已在{url}记录{n}项调整",
        "applied": "已对内存中的演示组合执行{n}项调整（未写入任何存储）",
        "dry_run": "试运行：未做任何更改（加 --apply 执行调整）",
        "backtest": "回测{first}至{last}，客户{n}个",
        "per_month": "每月层级调整数：",
        "month": "月份",
        "total": "合计",
        "from_to": "{policy}：全期层级调整（原 → 新）：",
        "tiers_after": "{month}后各层级客户数：",
        "moved_twice": "调整两次及以上的客户：{a}个对{b}个",
        "differing": "某月层级不同的客户：{n}个",
        "timeline": "{customer}在规则集“{policy}”下：{steps}",
    },
}
"""Texts of the rules commands by language."""


def _t(lang: str, key: str, **fields: object) -> str:
    text = _TEXT[lang][key]
    return text.format(**fields) if fields else text


FINDING_KEYS = ("file", "severity", "code", "message", "rules")
"""The columns of ``keyaccount rules check --format json|csv``."""


@click.group()
def rules() -> None:
    """Policy files: check them, or print the default policy."""


@rules.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--strict", is_flag=True, help="Exit with status 1 on warnings too.")
@format_option
@lang_option
def check(file: str, strict: bool, output_format: str, lang: str) -> None:
    """Load a policy FILE and report problems with it.

    Every syntax, name and type error is listed with its rule and position;
    a policy that loads is then validated: tiers no rule can reach or leave,
    rules that can never fire, promote/demote pairs that could flip every
    month. Exit status 1 on errors (and on warnings with --strict). With
    --format json or csv, one row per problem or finding (file, severity,
    code, message, rules).
    """
    from keyaccount.rules import Policy, Severity

    lang = lang.lower()
    table = output_format.lower() == "table"
    try:
        policy = Policy.load(file)
    except PolicyValidationError as exc:
        if table:
            click.echo(_t(lang, "problems", file=file, n=len(exc.exceptions)))
            for problem in exc.exceptions:
                click.echo(_t(lang, "problem", message=error_message(problem)))
        else:
            rows = [
                {
                    "file": file,
                    "severity": Severity.ERROR,
                    "code": "invalid-policy",
                    "message": error_message(problem),
                    "rules": None,
                }
                for problem in exc.exceptions
            ]
            emit(Section("findings", FINDING_KEYS, rows), output_format)
        raise SystemExit(1) from None
    findings = policy.validate()
    counts = {s: sum(f.severity is s for f in findings) for s in Severity}
    if table:
        click.echo(
            _t(
                lang,
                "policy",
                file=file,
                policy=policy.name,
                tier=len(policy.tier_rules),
                segment=len(policy.segment_rules),
                months=policy.min_months_in_tier,
            )
        )
        for finding in findings:
            click.echo(
                _t(
                    lang,
                    "finding",
                    severity=_t(lang, finding.severity.name),
                    message=finding.message,
                    code=finding.code,
                )
            )
        click.echo(
            _t(
                lang,
                "findings",
                errors=counts[Severity.ERROR],
                warnings=counts[Severity.WARNING],
                notes=counts[Severity.INFO],
            )
        )
    else:
        rows = [
            {
                "file": file,
                "severity": f.severity,
                "code": f.code,
                "message": f.message,
                "rules": ", ".join(f.rules) or None,
            }
            for f in findings
        ]
        emit(Section("findings", FINDING_KEYS, rows), output_format)
    if counts[Severity.ERROR] or (strict and counts[Severity.WARNING]):
        raise SystemExit(1)


@rules.command("default")
def default_() -> None:
    """Print the default policy file, a starting point for your own."""
    from keyaccount.rules import default_policy_text

    click.echo(default_policy_text(), nl=False)


# ---------------------------------------------------------------- evaluate

EVALUATE_SECTIONS = ("transitions", "held", "moves", "rules", "summary")
"""The sections of ``keyaccount evaluate --format json|csv``, the main one first."""

TRANSITION_KEYS = ("customer_id", "kind", "before", "after", "rule", "period", "explanation")
"""The columns of a transition (``transitions`` and ``held``)."""


def _transition_row(t: Transition) -> dict[str, object]:
    """A transition for programs: enums by name, the explanation as ``name=value, ...``."""
    return {
        "customer_id": t.customer_id,
        "kind": t.kind,
        "before": t.before,
        "after": t.after,
        "rule": t.rule,
        "period": t.period,
        "explanation": t.reason("en"),
    }


def evaluation_sections(
    evaluation: Evaluation, transitions: Sequence[Transition], held: Sequence[Transition]
) -> list[Section]:
    """The sections of ``keyaccount evaluate``: transitions, held, moves, rules, summary."""
    counts = evaluation.counts
    moves = [
        {
            "kind": "tier" if isinstance(before or after, Tier) else "segment",
            "before": before,
            "after": after,
            "count": n,
        }
        for (before, after), n in _sorted_moves(counts.moves)
    ]
    summary = {
        "policy": evaluation.policy.name,
        "as_of": evaluation.as_of,
        "customers": counts.customers,
        "tier_moves": counts.tier_moves,
        "segment_moves": counts.segment_moves,
        "held": counts.held,
        "stays": counts.stays,
    }
    return [
        Section("transitions", TRANSITION_KEYS, [_transition_row(t) for t in transitions]),
        Section("held", TRANSITION_KEYS, [_transition_row(t) for t in held]),
        Section("moves", ("kind", "before", "after", "count"), moves),
        Section(
            "rules",
            ("rule", "customers"),
            [{"rule": r, "customers": n} for r, n in counts.by_rule.items()],
        ),
        Section("summary", tuple(summary), [summary]),
    ]


def _sorted_moves(
    moves: Mapping[tuple[Tier | Segment | None, Tier | Segment | None], int],
) -> list[tuple[tuple[Tier | Segment | None, Tier | Segment | None], int]]:
    return sorted(moves.items(), key=lambda item: (-item[1], str(item[0])))


def _transition_line(t: Transition, lang: str) -> str:
    return _t(
        lang,
        "line",
        customer=t.customer_id,
        before=_label(t.before, lang),
        after=_label(t.after, lang),
        rule=t.rule,
        why=reason_text(t, lang),
    )


@click.command()
@rules_option
@click.option("--as-of", type=PERIOD, default=None, help="Month to evaluate [default: the latest].")
@portfolio_source
@seed_option
@customers_option
@click.option(
    "--apply",
    "apply_",
    is_flag=True,
    help="Apply the transitions: record them in the --db store (default: a dry run).",
)
@count_option(
    "--limit",
    default=None,
    minimum=0,
    help="How many transitions to list (all are counted) [default: 20 in the table, all "
    "in json and csv].",
)
@click.option(
    "--engine",
    type=click.Choice(["columnar", "reference"]),
    default="columnar",
    show_default=True,
    help="Evaluator: numpy columns, or the plain-Python specification.",
)
@format_option
@section_option(*EVALUATE_SECTIONS)
@lang_option
def evaluate(
    rules_file: str | None,
    as_of: Period | None,
    source: PortfolioSource,
    seed: int | None,
    customers: int,
    apply_: bool,
    limit: int | None,
    engine: str,
    output_format: str,
    section: str | None,
    lang: str,
) -> None:
    """Evaluate a policy as of a month and show the transitions it decides.

    Each transition is shown with the rule that decided it and the metric
    values that made the rule's condition true. Demotions held by
    min_months_in_tier are counted. Nothing changes unless --apply is given:
    then the transitions are recorded in the --db store, all or none, with
    their explanations (with --demo, only the generated portfolio in memory
    changes). With --format json: the sections transitions, held, moves, rules
    and summary; --format csv writes one (--section, default transitions).
    """
    lang = lang.lower()
    policy = _load(rules_file)
    with source.open(seed=seed, customers=customers) as (portfolio, store):
        month = as_of if as_of is not None else _latest(portfolio)
        result = policy.evaluate(
            portfolio, month, engine="reference" if engine == "reference" else "columnar"
        )
        _apply(result, portfolio, store, apply_=apply_, lang=lang)  # all or nothing, then print
        if output_format.lower() == "table":
            _print_evaluation(result, DEFAULT_LIMIT if limit is None else limit, lang)
        else:
            shown = slice(None) if limit is None else slice(limit)
            emit(
                evaluation_sections(result, result.transitions[shown], result.held[shown]),
                output_format,
                section,
            )


DEFAULT_LIMIT = 20
"""How many transitions the table lists when ``--limit`` is not given."""


def _print_evaluation(result: Evaluation, limit: int, lang: str) -> None:
    counts = result.counts
    click.echo(
        _t(
            lang,
            "head",
            policy=result.policy.name,
            month=result.as_of,
            customers=count(counts.customers),
            tier=count(counts.tier_moves),
            segment=count(counts.segment_moves),
            held=count(counts.held),
            stays=count(counts.stays),
        )
    )
    for (before, after), n in _sorted_moves(counts.moves):
        click.echo(
            _t(lang, "move", before=_label(before, lang), after=_label(after, lang), n=count(n))
        )
    if counts.tier_moves + counts.segment_moves:
        click.echo(_t(lang, "transitions"))
        for t in result.transitions[:limit]:
            click.echo(_transition_line(t, lang))
        hidden = len(result.transitions) - limit
        if hidden > 0:
            click.echo(_t(lang, "more", n=count(hidden)))
    if result.held:
        click.echo(_t(lang, "held"))
        for t in result.held[:limit]:
            click.echo(_transition_line(t, lang))


def _apply(
    result: Evaluation, portfolio: Portfolio, store: Store | None, *, apply_: bool, lang: str
) -> None:
    """Apply the transitions when asked; say what happened on stderr."""
    if apply_ and store is not None:
        recorded = store.apply(result.changes())
        message(_t(lang, "recorded", n=count(len(recorded)), url=store.url))
    elif apply_:
        portfolio.apply_changes(result.changes())
        message(_t(lang, "applied", n=count(len(result.transitions))))
    else:
        message(_t(lang, "dry_run"))


# ---------------------------------------------------------------- backtest

BACKTEST_SECTIONS = ("months", "transitions", "tiers", "summary", "timelines")
"""The sections of ``keyaccount backtest --format json|csv``, the main one first."""


def backtest_sections(runs: Sequence[Backtest], customer_ids: Sequence[str]) -> list[Section]:
    """The sections of ``keyaccount backtest`` (see :data:`BACKTEST_SECTIONS`)."""
    months = [
        {"policy": run.policy_name, "period": month, "tier_moves": n}
        for run in runs
        for month, n in zip(run.months, run.moves_per_month(), strict=True)
    ]
    transitions = [
        {"policy": run.policy_name, "before": before, "after": after, "count": n}
        for run in runs
        for (before, after), n in sorted(run.transition_counts().items(), key=lambda i: -i[1])
    ]
    tiers = [
        {"policy": run.policy_name, "tier": tier, "customers": int(run.tier_sizes()[-1][tier.rank])}
        for run in runs
        for tier in TIERS
    ]
    summary = [
        {
            "policy": run.policy_name,
            "start": run.months[0],
            "end": run.months[-1],
            "customers": len(run.customer_ids),
            "tier_moves": sum(run.moves_per_month()),
            "customers_moved": run.customers_moved(1),
            "customers_moved_twice": run.customers_moved(2),
        }
        for run in runs
    ]
    timelines = [
        {"policy": run.policy_name, "customer_id": cid, "period": month, "tier": tier}
        for cid in customer_ids
        for run in runs
        for month, tier in run.timeline(cid)
    ]
    return [
        Section("months", ("policy", "period", "tier_moves"), months),
        Section("transitions", ("policy", "before", "after", "count"), transitions),
        Section("tiers", ("policy", "tier", "customers"), tiers),
        Section("summary", tuple(summary[0]), summary),
        Section("timelines", ("policy", "customer_id", "period", "tier"), timelines),
    ]


def _backtest_lines(runs: list[Backtest], lang: str) -> list[str]:
    names = [run.policy_name for run in runs]
    if len(names) == 2 and names[0] == names[1]:
        names = [f"{names[0]} (a)", f"{names[1]} (b)"]
    width = max(10, *(len(n) for n in names))
    month_head = _t(lang, "month")
    pad = 8 - (len(month_head) if lang != "zh" else 2 * len(month_head))
    lines = [
        _t(lang, "per_month"),
        f"  {month_head}{' ' * max(pad, 1)}" + "".join(f" {n:>{width}}" for n in names),
    ]
    per_month = [run.moves_per_month() for run in runs]
    for k, month in enumerate(runs[0].months):
        lines.append(f"  {month!s:<8}" + "".join(f" {count(m[k]):>{width}}" for m in per_month))
    total = _t(lang, "total")
    pad = 8 - (len(total) if lang != "zh" else 2 * len(total))
    lines.append(
        f"  {total}{' ' * max(pad, 1)}" + "".join(f" {count(sum(m)):>{width}}" for m in per_month)
    )
    for run in runs:
        lines.append(_t(lang, "from_to", policy=run.policy_name))
        for (before, after), n in sorted(run.transition_counts().items(), key=lambda i: -i[1]):
            lines.append(
                _t(lang, "move", before=_label(before, lang), after=_label(after, lang), n=count(n))
            )
    if len(runs) == 2:
        a, b = runs
        lines.append(_t(lang, "tiers_after", month=a.months[-1]))
        sizes_a, sizes_b = a.tier_sizes()[-1], b.tier_sizes()[-1]
        for tier in TIERS:
            label = tier_label(tier, lang)
            cells = 2 * len(label) if lang == "zh" else len(label)
            a_n, b_n = count(int(sizes_a[tier.rank])), count(int(sizes_b[tier.rank]))
            lines.append(f"  {label}{' ' * max(10 - cells, 1)} {a_n:>{width}} {b_n:>{width}}")
        lines.append(
            _t(lang, "moved_twice", a=count(a.customers_moved(2)), b=count(b.customers_moved(2)))
        )
        from keyaccount.rules import compare_backtests  # imported when the command runs

        differing = compare_backtests(a, b).differing
        lines.append(_t(lang, "differing", n=count(len(differing))))
    return lines


@click.command("backtest")
@rules_option
@click.option(
    "--compare",
    "compare_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A second policy file to compare with the first.",
)
@click.option("--start", type=PERIOD, default=None, help="First month [default: 11 before --end].")
@click.option("--end", type=PERIOD, default=None, help="Last month [default: the latest].")
@click.option(
    "--initial-tier",
    type=click.Choice([t.name for t in Tier], case_sensitive=False),
    default=None,
    help="Start every customer in this tier [default: the portfolio's tiers].",
)
@portfolio_source
@seed_option
@customers_option
@click.option("--customer", "customer_ids", multiple=True, help="Show this customer's timeline.")
@format_option
@section_option(*BACKTEST_SECTIONS)
@lang_option
def backtest_command(
    rules_file: str | None,
    compare_file: str | None,
    start: Period | None,
    end: Period | None,
    initial_tier: str | None,
    source: PortfolioSource,
    seed: int | None,
    customers: int,
    customer_ids: tuple[str, ...],
    output_format: str,
    section: str | None,
    lang: str,
) -> None:
    """Run a policy month by month over the history; compare two with --compare.

    Each month the policy is evaluated and its transitions applied before the
    next month, as they would have been in production. Prints the tier
    transitions per month and from x to, and with --compare the two policies
    side by side. Nothing is written to a --db store. With --format json: the
    sections months, transitions, tiers, summary and timelines (--customer).
    """
    from keyaccount.rules import backtest, compare_backtests

    lang = lang.lower()
    policies = [_load(rules_file)]
    if compare_file is not None:
        policies.append(_load(compare_file))
    portfolio = source.load(seed=seed, customers=customers)
    last = end if end is not None else _latest(portfolio)
    first = start if start is not None else last - 11
    runs = [
        backtest(policy, portfolio, first, last, initial_tier=initial_tier) for policy in policies
    ]
    if len(runs) == 2:
        compare_backtests(runs[0], runs[1])  # refuses runs over different customers or months
    if output_format.lower() != "table":
        emit(backtest_sections(runs, customer_ids), output_format, section)
        return
    click.echo(_t(lang, "backtest", first=first, last=last, n=count(len(runs[0].customer_ids))))
    for line in _backtest_lines(runs, lang):
        click.echo(line)
    for cid in customer_ids:
        for run in runs:
            steps = " ".join(
                DASH if tier is None else tier_label(tier, lang) for _, tier in run.timeline(cid)
            )
            click.echo(_t(lang, "timeline", customer=cid, policy=run.policy_name, steps=steps))
