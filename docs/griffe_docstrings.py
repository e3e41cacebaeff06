"""A griffe extension: read the package's docstrings as the API reference should show them.

The docstrings are Google style as ruff's pydocstyle checks it, which also allows two
spellings griffe does not read:

- a section titled ``Example:`` (griffe knows only ``Examples:``), whose ``>>>`` lines
  would otherwise be read as Markdown;
- Sphinx roles such as ``:class:`Policy``` and ``:meth:`~Portfolio.metrics```, shown
  as code (``Policy``, ``Portfolio.metrics``).

Configured in ``mkdocs.yml`` (the mkdocstrings ``extensions:`` option); not part of the
package.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

EXAMPLE_SECTION = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
SPHINX_ROLE = re.compile(r":(?:class|meth|func|attr|mod|exc|data|obj|const):`~?\.?([^`]+)`")


def rewrite(text: str) -> str:
    """The docstring with ``Example:`` read as ``Examples:`` and Sphinx roles as code."""
    return SPHINX_ROLE.sub(r"`\1`", EXAMPLE_SECTION.sub(r"\1Examples:", text))


class KeyaccountDocstrings(griffe.Extension):
    """Rewrite each docstring once, when griffe creates its object."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the object's docstring (if it has one) before it is parsed."""
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
