"""Shared pytest configuration: Hypothesis profiles.

Two profiles are registered: ``dev`` (fast, the default for local runs) and
``ci`` (thorough). ``ci`` is selected when the environment variable ``CI`` is
set or ``HYPOTHESIS_PROFILE=ci``; ``HYPOTHESIS_PROFILE`` may name either
profile explicitly.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)


def _profile_name() -> str:
    explicit = os.environ.get("HYPOTHESIS_PROFILE", "").strip()
    if explicit:
        return explicit
    return "ci" if os.environ.get("CI") else "dev"


PROFILE = _profile_name()
settings.load_profile(PROFILE)


def pytest_report_header() -> str:
    """Show the active Hypothesis profile in the pytest header."""
    return f"keyaccount: hypothesis profile {PROFILE!r} (max_examples={settings().max_examples})"
