"""The display languages of the library's text: ``"en"`` and ``"zh"``.

Every function that takes a ``lang`` checks it with :func:`check_lang`, so an unknown
language fails the same way everywhere (a :class:`~keyaccount.exceptions.ValidationError`,
also a ``ValueError``, naming the value and the allowed ones).
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

from keyaccount.exceptions import ValidationError, shorten

__all__ = ["LANGS", "Lang", "check_lang"]

Lang: TypeAlias = Literal["en", "zh"]
"""A display language: ``"en"`` (English, identifiers as written) or ``"zh"`` (Chinese)."""

LANGS: Final[tuple[Lang, ...]] = ("en", "zh")
"""The display languages, in the order error messages list them."""


def check_lang(lang: object, *, where: str = "") -> Lang:
    """``lang`` if it is a display language, else an error naming the allowed ones.

    Args:
        lang: The value given.
        where: What it was given to, for the message (``"Transition.reason"``).

    Returns:
        ``"en"`` or ``"zh"``.

    Raises:
        ValidationError: ``lang`` is not ``"en"`` or ``"zh"`` (the comparison is exact:
            ``"ZH"`` and ``"zh-CN"`` are refused too).

    Example:
        >>> check_lang("zh")
        'zh'
        >>> check_lang("fr", where="label")
        Traceback (most recent call last):
        ...
        keyaccount.exceptions.ValidationError: label: unknown language 'fr'; expected 'en' or 'zh'
    """
    if lang == "en" or lang == "zh":
        return "zh" if lang == "zh" else "en"
    prefix = f"{where}: " if where else ""
    raise ValidationError(f"{prefix}unknown language {shorten(lang)}; expected 'en' or 'zh'")
