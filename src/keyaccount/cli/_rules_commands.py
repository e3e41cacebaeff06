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
from keyaccount.cli._render import segment_label, tier_label
from keyaccount.cli._source import portfolio_source
from keyaccount.domain import Segment, Tier
from keyaccount.exceptions import PolicyValidationError

if TYPE_CHECKING:
    from keyaccount.cli._source import PortfolioSource
    from keyaccount.domain import Period
    from keyaccount.portfolio import Portfolio
    from keyaccount.rules import Backtest, Policy, Transition
    from keyaccount.store import Store

__all__ = ["backtest_command", "evaluate", "rules"]

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


@click.group()
def rules() -> None:
    """Policy files: check them, or print the default policy."""


@rules.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--strict", is_flag=True, help="Exit with status 1 on warnings too.")
def check(file: str, strict: bool) -> None:
    """Load a policy FILE and report problems with it.

    Every syntax, name and type error is listed with its rule and position;
    a policy that loads is then validated: tiers no rule can reach or leave,
    rules that can never fire, promote/demote pairs that could flip every
    month. Exit status 1 on errors (and on warnings with --strict).
    """
    from keyaccount.rules import Policy, Severity

    try:
        policy = Policy.load(file)
    except PolicyValidationError as exc:
        click.echo(f"{file}: {len(exc.exceptions)} problems")
        for problem in exc.exceptions:
            click.echo(f"  error: {error_message(problem)}")
        raise SystemExit(1) from None
    findings = policy.validate()
    click.echo(
        f"{file}: policy {policy.name!r}, {len(policy.tier_rules)} tier rules, "
        f"{len(policy.segment_rules)} segment rules, min_months_in_tier = "
        f"{policy.min_months_in_tier}"
    )
    for finding in findings:
        click.echo(f"  {finding}")
    counts = {s: sum(f.severity is s for f in findings) for s in Severity}
    click.echo(
        f"{counts[Severity.ERROR]} errors, {counts[Severity.WARNING]} warnings, "
        f"{counts[Severity.INFO]} notes"
    )
    if counts[Severity.ERROR] or (strict and counts[Severity.WARNING]):
        raise SystemExit(1)


@rules.command("default")
def default_() -> None:
    """Print the default policy file, a starting point for your own."""
    from keyaccount.rules import default_policy_text

    click.echo(default_policy_text(), nl=False)


# ---------------------------------------------------------------- evaluate


def _transition_line(t: Transition, lang: str) -> str:
    why = ", ".join(f"{k} = {v}" for k, v in t.explanation)
    return (
        f"  {t.customer_id}  {_label(t.before, lang)} -> {_label(t.after, lang)}  [{t.rule}]  {why}"
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
    "--limit", default=20, minimum=0, help="How many transitions to list (all are counted)."
)
@click.option(
    "--engine",
    type=click.Choice(["columnar", "reference"]),
    default="columnar",
    show_default=True,
    help="Evaluator: numpy columns, or the plain-Python specification.",
)
@lang_option
def evaluate(
    rules_file: str | None,
    as_of: Period | None,
    source: PortfolioSource,
    seed: int | None,
    customers: int,
    apply_: bool,
    limit: int,
    engine: str,
    lang: str,
) -> None:
    """Evaluate a policy as of a month and show the transitions it decides.

    Each transition is shown with the rule that decided it and the metric
    values that made the rule's condition true. Demotions held by
    min_months_in_tier are counted. Nothing changes unless --apply is given:
    then the transitions are recorded in the --db store, all or none, with
    their explanations (with --demo, only the generated portfolio in memory
    changes).
    """
    lang = lang.lower()
    policy = _load(rules_file)
    with source.open(seed=seed, customers=customers) as (portfolio, store):
        month = as_of if as_of is not None else _latest(portfolio)
        _evaluate(
            policy, portfolio, month, store, apply_=apply_, limit=limit, engine=engine, lang=lang
        )


def _evaluate(
    policy: Policy,
    portfolio: Portfolio,
    month: Period,
    store: Store | None,
    *,
    apply_: bool,
    limit: int,
    engine: str,
    lang: str,
) -> None:
    result = policy.evaluate(
        portfolio, month, engine="reference" if engine == "reference" else "columnar"
    )
    counts = result.counts
    click.echo(
        f"policy {policy.name!r} as of {month}: {counts.customers} customers, "
        f"{counts.tier_moves} tier and {counts.segment_moves} segment transitions, "
        f"{counts.held} demotions held, {counts.stays} stays"
    )
    for (before, after), n in sorted(
        counts.moves.items(), key=lambda item: (-item[1], str(item[0]))
    ):
        click.echo(f"  {_label(before, lang)} -> {_label(after, lang)}: {n}")
    if counts.tier_moves + counts.segment_moves:
        click.echo("transitions:")
        for t in result.transitions[:limit]:
            click.echo(_transition_line(t, lang))
        hidden = len(result.transitions) - limit
        if hidden > 0:
            click.echo(f"  ... and {hidden} more (--limit)")
    if result.held:
        click.echo("held demotions:")
        for t in result.held[:limit]:
            click.echo(_transition_line(t, lang))
    if apply_ and store is not None:
        recorded = store.apply(result.changes())
        click.echo(f"recorded {len(recorded)} changes in {store.url}")
    elif apply_:
        portfolio.apply_changes(result.changes())
        click.echo(
            f"applied {len(result.transitions)} transitions to the demo portfolio in memory "
            "(nothing is stored)"
        )
    else:
        click.echo("dry run: nothing was changed (use --apply to apply)")


# ---------------------------------------------------------------- backtest


def _moves_table(runs: list[Backtest], lang: str) -> list[str]:
    names = [run.policy_name for run in runs]
    width = max(10, *(len(n) for n in names))
    lines = [
        "tier transitions per month:",
        f"  {'month':<8}" + "".join(f" {n:>{width}}" for n in names),
    ]
    per_month = [run.moves_per_month() for run in runs]
    for k, month in enumerate(runs[0].months):
        lines.append(f"  {month!s:<8}" + "".join(f" {m[k]:>{width}}" for m in per_month))
    lines.append(f"  {'total':<8}" + "".join(f" {sum(m):>{width}}" for m in per_month))
    for run in runs:
        lines.append(f"{run.policy_name}: from x to over all months:")
        for (before, after), n in sorted(run.transition_counts().items(), key=lambda i: -i[1]):
            lines.append(f"  {_label(before, lang)} -> {_label(after, lang)}: {n}")
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
    lang: str,
) -> None:
    """Run a policy month by month over the history; compare two with --compare.

    Each month the policy is evaluated and its transitions applied before the
    next month, as they would have been in production. Prints the tier
    transitions per month and from x to, and with --compare the two policies
    side by side. Nothing is written to a --db store.
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
    click.echo(f"backtest {first}..{last}, {len(runs[0].customer_ids)} customers")
    for line in _moves_table(runs, lang):
        click.echo(line)
    if len(runs) == 2:
        click.echo("")
        click.echo(compare_backtests(runs[0], runs[1]).summary())
    for cid in customer_ids:
        for run in runs:
            steps = " ".join(
                "-" if tier is None else tier_label(tier, lang) for _, tier in run.timeline(cid)
            )
            click.echo(f"{cid} under {run.policy_name!r}: {steps}")
