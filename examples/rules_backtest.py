"""Compare two candidate tiering policies on last year's data.

An analyst's script: generate the demo portfolio, load the shipped default
policy and the candidate in examples/policy.toml, check both, run each month
by month over the last twelve months (each month evaluated, its transitions
applied before the next), and compare what they would have done.
"""

from __future__ import annotations

from pathlib import Path

from keyaccount.demo import generate
from keyaccount.rules import Policy, backtest, compare_backtests, default_policy

HERE = Path(__file__).resolve().parent

portfolio = generate(customers=2000)
span = portfolio.period_span
assert span is not None
end = span[1]
start = end - 11
print(f"{portfolio!r}; backtest {start}..{end}")

current = default_policy()
candidate = Policy.load(HERE / "policy.toml")
for policy in (current, candidate):
    findings = policy.validate()
    print(f"policy {policy.name!r}: {len(policy.rules)} rules, {len(findings)} findings")
    for finding in findings:
        print(f"  {finding}")

# What each policy would decide this month, with the reasons.
evaluation = candidate.evaluate(portfolio, end)
print(
    f"\n{candidate.name} as of {end}: {evaluation.counts.tier_moves} tier transitions, "
    f"{evaluation.counts.held} held demotions"
)
for transition in evaluation.transitions[:5]:
    print(f"  {transition}")

# A year month by month.
runs = [backtest(policy, portfolio, start, end) for policy in (current, candidate)]
comparison = compare_backtests(*runs)
print()
print(comparison.summary())

print("\nfrom x to over the year:")
for run in runs:
    moves = ", ".join(
        f"{b.name}->{a.name} {n}"
        for (b, a), n in sorted(run.transition_counts().items(), key=lambda i: -i[1])
    )
    print(f"  {run.policy_name}: {moves}")

print("\nfinal tier, default (rows) x growth-focus (columns):")
print("            " + " ".join(f"{t:>10}" for t in ("DORMANT", "ACTIVE", "KEY", "STRATEGIC")))
for name, row in zip(
    ("DORMANT", "ACTIVE", "KEY", "STRATEGIC"), comparison.final_crosstab, strict=True
):
    print(f"  {name:<10}" + " ".join(f"{int(v):>10}" for v in row))

print("\nsome customers the two policies treat differently:")
for customer_id in comparison.differing[:3]:
    for run in runs:
        steps = " ".join("-" if t is None else t.name[0] for _, t in run.timeline(customer_id))
        print(f"  {customer_id} {run.policy_name:>14}: {steps}")
