"""The default policy shipped with the library (``default_policy.toml``)."""

from __future__ import annotations

from importlib import resources

from keyaccount.rules._policy import Policy

__all__ = ["DEFAULT_POLICY_FILE", "default_policy", "default_policy_text"]

DEFAULT_POLICY_FILE = "default_policy.toml"
"""The name of the shipped policy file inside ``keyaccount.rules``."""


def default_policy_text() -> str:
    """The TOML text of the default policy (a starting point for your own)."""
    return resources.files("keyaccount.rules").joinpath(DEFAULT_POLICY_FILE).read_text("utf-8")


def default_policy() -> Policy:
    """The default monthly tiering policy.

    Tier rules: ``dormant`` (no revenue for six months), ``reactivate``,
    ``promote-strategic`` (10 million yuan a year), ``promote-key`` (1 million),
    ``demote-strategic`` (below 6 million, or shrinking by 40%), ``demote-key``
    (below 600,000); segment rules assign unassigned customers to JUDICIAL,
    AUTO_ECOSYSTEM, FINANCE or INSURANCE when that industry's products are at
    least half of their revenue. ``min_months_in_tier = 3``. ``docs/rules.md``
    explains the thresholds.

    Example:
        >>> p = default_policy()
        >>> p.name, len(p.tier_rules), len(p.segment_rules), p.min_months_in_tier
        ('default', 6, 4, 3)
    """
    return Policy.from_toml(default_policy_text(), source=DEFAULT_POLICY_FILE)
