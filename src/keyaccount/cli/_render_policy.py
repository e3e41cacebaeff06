"""Terminal rendering of a policy evaluation: moves by rule and example transitions."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from keyaccount.cli._numbers import count, money
from keyaccount.cli._render import report_table
from keyaccount.domain import format_value

if TYPE_CHECKING:
    from keyaccount.domain import Segment, Tier
    from keyaccount.portfolio import Portfolio
    from keyaccount.rules import Evaluation, Transition

__all__ = ["evaluation_report", "reason_text"]

_LABELS = {
    "en": {
        "title": "Policy {policy!r} as of {as_of}: {tier} tier and {segment} segment "
        "transitions, {held} demotions held",
        "moves": "Transitions by rule",
        "rule": "Rule",
        "from": "From",
        "to": "To",
        "count": "Customers",
        "examples": "Examples, with the values that made the rule fire",
        "customer": "Customer",
        "why": "Why",
        "none": "none",
        "unassigned": "UNASSIGNED",
    },
    "zh": {
        "title": "规则集“{policy}”（截至{as_of}）：层级调整{tier}个，行业调整{segment}个，"
        "暂缓降级{held}个",
        "moves": "按规则统计的调整",
        "rule": "规则",
        "from": "原",
        "to": "新",
        "count": "客户数",
        "examples": "示例及触发规则的指标值",
        "customer": "客户",
        "why": "原因",
        "none": "无",
        "unassigned": "未分配",
    },
}


def _label(value: Tier | Segment | None, lang: str) -> str:
    if value is None:
        return _LABELS[lang]["unassigned"]
    return value.label(lang)


def reason_text(transition: Transition, lang: str) -> str:
    """Why a rule fired, for people: the metric values that made its condition true.

    English: ``t12m_revenue = 1,200,000.00 yuan, active_months = 10``; Chinese: the
    library's reason (:meth:`keyaccount.rules.Transition.reason`),
    ``近12个月收入：1,200,000.00元，近12个月有收入月数：10``. Money has thousands
    separators and two decimals, counts thousands separators, ratios are exact
    percentages in both.
    """
    if lang == "zh":
        return transition.reason("zh")
    parts = []
    for name, value in transition.explanation:
        if isinstance(value, Decimal):
            text = f"{money(value)} yuan"
        elif isinstance(value, int) and not isinstance(value, bool):
            text = count(value)
        elif isinstance(value, float):
            text = format_value(value, "zh")  # an exact percentage, as the Chinese reason
        else:
            text = str(value)
        parts.append(f"{name} = {text}")
    return ", ".join(parts)


def evaluation_report(
    portfolio: Portfolio, evaluation: Evaluation, *, examples: int = 8, lang: str = "en"
) -> RenderableType:
    """The evaluation's headline, its moves by rule and a few explained transitions.

    Args:
        portfolio: The portfolio evaluated (for customer names).
        evaluation: The policy evaluation.
        examples: How many transitions to list with their explanations.
        lang: ``"en"`` or ``"zh"``.
    """
    text = _LABELS[lang]
    counts = evaluation.counts
    title = Text(
        text["title"].format(
            policy=evaluation.policy.name,
            as_of=evaluation.as_of,
            tier=count(counts.tier_moves),
            segment=count(counts.segment_moves),
            held=count(counts.held),
        ),
        style="bold",
    )
    moves: dict[tuple[str, str, str], int] = {}
    for t in evaluation.transitions:
        key = (t.rule, _label(t.before, lang), _label(t.after, lang))
        moves[key] = moves.get(key, 0) + 1
    by_rule = report_table(text["moves"])
    for column in ("rule", "from", "to"):
        by_rule.add_column(text[column], overflow="ellipsis")
    by_rule.add_column(text["count"], justify="right", no_wrap=True)
    for (rule, before, after), n in sorted(moves.items(), key=lambda kv: (-kv[1], kv[0])):
        by_rule.add_row(rule, before, after, count(n))
    if not moves:
        by_rule.add_row(text["none"], "", "", "0")
    shown = report_table(text["examples"])
    shown.add_column(text["customer"], no_wrap=True)
    shown.add_column("", no_wrap=True)
    shown.add_column(text["rule"], overflow="ellipsis")
    shown.add_column(f"{text['from']} → {text['to']}", overflow="ellipsis")
    shown.add_column(text["why"], overflow="fold")
    picked = _pick_examples(evaluation.transitions, examples)
    for t in picked:
        name = Text(portfolio.customer(t.customer_id).name)
        name.truncate(16, overflow="ellipsis")
        shown.add_row(
            t.customer_id,
            name,
            t.rule,
            f"{_label(t.before, lang)} → {_label(t.after, lang)}",
            # a Chinese reason has no spaces to wrap at: one cited value per line
            reason_text(t, lang).replace("，", "，\n") if lang == "zh" else reason_text(t, lang),
        )
    return Group(title, by_rule, shown) if picked else Group(title, by_rule)


def _pick_examples(transitions: tuple[Transition, ...], n: int) -> list[Transition]:
    """Up to ``n`` transitions, taking one rule at a time in turn so every rule shows."""
    by_rule: dict[str, list[Transition]] = {}
    for t in transitions:
        by_rule.setdefault(t.rule, []).append(t)
    picked: list[Transition] = []
    depth = 0
    while len(picked) < n and any(len(v) > depth for v in by_rule.values()):
        for items in by_rule.values():
            if len(items) > depth and len(picked) < n:
                picked.append(items[depth])
        depth += 1
    return picked
