"""The portfolio report page: one self-contained HTML file of figures, tables and plots.

:func:`render_report` turns a portfolio (and, when there are any, its operations data)
into a page that needs no network to view: inline style, plots as SVG ``data:`` images
with their text drawn as outlines, no script, and a Content Security Policy
(:data:`CONTENT_SECURITY_POLICY`) that refuses any other load. :func:`write_report`
writes it to a file atomically; ``keyaccount report`` is the command. See
``docs/report.md``.

Example:
    >>> from keyaccount import demo
    >>> from keyaccount.report import render_report
    >>> page = render_report(demo.generate(customers=200), figures=False)
    >>> page.startswith("<!DOCTYPE html>"), 'id="headline-customers">200<' in page
    (True, True)
"""

from __future__ import annotations

from keyaccount.report._html import CONTENT_SECURITY_POLICY
from keyaccount.report._report import (
    RECOMMENDED,
    monthly_rfm,
    render_report,
    report_month,
    write_report,
)

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "RECOMMENDED",
    "monthly_rfm",
    "render_report",
    "report_month",
    "write_report",
]
