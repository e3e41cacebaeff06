"""Demo portfolios modelled on the key-account center of a national postal express carrier.

:func:`generate` builds a deterministic portfolio for a seed: the nine project
groups with their members, the customers the source text names (耐克, 腾讯,
当当网, courts, traffic bureaus, national banks, insurers with provincial
branches, ...) and generated ones in every segment, with tiers and monthly
revenue. It is vectorised and builds a million customers in seconds.
:func:`demo_operations` adds how its project groups were run (ownership moves,
targets, teams and scores, court KPIs, the supervision list, lifecycles) as one
:class:`OperationsData` value.

Example:
    >>> from keyaccount.demo import NOTABLE_CUSTOMERS, generate
    >>> pf = generate(seed=1, customers=500, months=24)
    >>> len(pf)
    500
    >>> pf.project_group_of(NOTABLE_CUSTOMERS["腾讯"]).id
    'tencent'
"""

from __future__ import annotations

from keyaccount.demo._generate import NOTABLE_CUSTOMERS, generate
from keyaccount.demo._operations import DEFAULT_SEED, demo_operations

__all__ = [
    "DEFAULT_SEED",
    "NOTABLE_CUSTOMERS",
    "demo_operations",
    "generate",
]
