"""The published JSON Schemas (draft 2020-12), made from the codecs the converter uses."""

from __future__ import annotations

import copy
import functools
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from keyaccount.exceptions import UnknownLabelError
from keyaccount.json._codecs import Defs, Schema
from keyaccount.json._converter import CODECS
from keyaccount.json._documents import ROOTS
from keyaccount.utils import installed_version

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DIALECT", "SCHEMAS", "schema", "schema_id", "version"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect of every published schema."""

SCHEMAS: Mapping[str, Any] = MappingProxyType(dict(sorted(ROOTS.items())))
"""Schema name (``"customer"``) to the Python type at the root of the document, by name."""

_UNION_DESCRIPTIONS = {
    "change": "A tier change or a segment change of one customer, told apart by 'kind'.",
}


def version() -> str:
    """The library's version, as installed (``"unknown"`` in a source tree)."""
    return installed_version()


def schema_id(name: str) -> str:
    """The ``$id`` of schema ``name``: ``urn:keyaccount:schema:<version>:<name>``."""
    return f"urn:keyaccount:schema:{version()}:{name}"


@functools.cache
def _schema(name: str) -> Schema:
    root = SCHEMAS[name]
    defs = Defs()
    top = CODECS.codec(root).schema(defs)
    head: Schema = {"$schema": DIALECT, "$id": schema_id(name)}
    ref = top.get("$ref", "")
    if ref.startswith("#/$defs/"):
        title = ref.removeprefix("#/$defs/")
        body = defs.definitions.pop(title)
        assert ref not in repr(defs.definitions), f"{title} refers to itself"
        out = {**head, **body}
    else:
        title = name.title().replace("-", "")
        out = {**head, "title": title, "description": _UNION_DESCRIPTIONS[name], **top}
    if defs.definitions:
        out["$defs"] = dict(sorted(defs.definitions.items()))
    return out


def schema(name: str) -> dict[str, Any]:
    r"""The JSON Schema (draft 2020-12) of the document ``name`` (a key of :data:`SCHEMAS`).

    Each schema has a stable ``$id`` naming keyaccount and its version, a ``title`` and a
    ``description`` from the class docstring, every property ``required`` (absent values
    are ``null``) and no other property allowed; money is a string matching
    ``^-?\d+\.\d{2}$`` and a month one matching ``^\d{4}-(0[1-9]|1[0-2])$``.

    Returns:
        A new ``dict`` (change it freely).

    Raises:
        UnknownLabelError: no schema has that name; the message lists the names.

    Example:
        >>> s = schema("revenue-record")
        >>> s["title"], s["properties"]["revenue"]["pattern"]
        ('RevenueRecord', '^-?\\d+\\.\\d{2}$')
    """
    if name not in SCHEMAS:
        raise UnknownLabelError("schema", name, tuple(SCHEMAS))
    return copy.deepcopy(_schema(name))
