"""matplotlib on demand, the axes a plot draws into, and a font that has Chinese glyphs.

matplotlib is the ``plot`` extra: it is imported by the functions that draw, never when
:mod:`keyaccount.plot` is imported, and a missing matplotlib raises an ``ImportError``
that says what to install.

Chinese labels need a font with CJK glyphs (matplotlib's own DejaVu Sans has none). The
first of :data:`CJK_FONTS` that matplotlib's font manager knows is added as a *fallback*
family of every text a plot draws: Latin text keeps the usual font and each CJK glyph
comes from the fallback. When none is installed, a plot in ``"zh"`` warns once
(:class:`MissingFontWarning`) naming the fonts and the Debian packages that provide them.
"""

from __future__ import annotations

import functools
import warnings
from typing import TYPE_CHECKING, Any, Final

from keyaccount.exceptions import ValidationError, shorten

if TYPE_CHECKING:
    from types import ModuleType

    from matplotlib.axes import Axes

    from keyaccount.domain import Lang

__all__ = [
    "CJK_FONTS",
    "MissingFontWarning",
    "apply_fonts",
    "axes_for",
    "check_choice",
    "find_cjk_font",
    "require_matplotlib",
]

CJK_FONTS: Final[tuple[str, ...]] = (
    "Noto Sans CJK SC",
    "WenQuanYi Micro Hei",
    "Source Han Sans SC",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)
"""The fonts with Chinese glyphs a plot looks for, in order of preference (family names)."""

_INSTALL_HINT: Final = (
    "install one of them (Debian and Ubuntu: apt-get install fonts-noto-cjk, or the smaller "
    "fonts-wqy-microhei)"
)


class MissingFontWarning(UserWarning):
    """No font with Chinese glyphs was found: Chinese labels will show as empty boxes."""


def require_matplotlib() -> ModuleType:
    """The ``matplotlib`` module, or an ``ImportError`` naming the extra to install.

    Raises:
        ImportError: matplotlib is not installed.
    """
    try:
        import matplotlib
    except ImportError as error:  # pragma: no cover - the test environment has it
        raise ImportError(
            "keyaccount.plot needs matplotlib: pip install 'keyaccount[plot]'"
        ) from error
    return matplotlib


def _known_families() -> set[str]:
    from matplotlib import font_manager

    return {entry.name for entry in font_manager.fontManager.ttflist}


def _add_unlisted_system_fonts() -> None:
    """Tell the font manager about system fonts installed after its cache was written."""
    from matplotlib import font_manager

    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # an unreadable file: not a font to use
                continue


def find_cjk_font(candidates: tuple[str, ...] = CJK_FONTS) -> str | None:
    """The first of ``candidates`` that matplotlib can use, or ``None``.

    When none is in matplotlib's font list, system fonts missing from it (installed
    after matplotlib cached its list) are added to it once, and the search repeated.

    Args:
        candidates: Font family names, in order of preference.

    Returns:
        The family name, or ``None`` when no candidate is installed.

    Example:
        >>> find_cjk_font(("No Such Font",)) is None
        True
    """
    require_matplotlib()
    known = _known_families()
    found = next((name for name in candidates if name in known), None)
    if found is None and _rescan():
        known = _known_families()
        found = next((name for name in candidates if name in known), None)
    return found


@functools.cache
def _rescan() -> bool:
    """Add unlisted system fonts once per process; true the first time."""
    _add_unlisted_system_fonts()
    return True


_warned: list[bool] = []
"""Non-empty once :class:`MissingFontWarning` has been issued (it is issued once)."""


def _families(lang: Lang) -> list[str] | None:
    """The font families for a plot's text: the usual ones plus the CJK fallback."""
    matplotlib = require_matplotlib()
    font = find_cjk_font(CJK_FONTS)
    if font is None:
        if lang == "zh" and not _warned:
            _warned.append(True)
            warnings.warn(
                "no font with Chinese glyphs found for keyaccount.plot (looked for "
                f"{', '.join(CJK_FONTS)}): Chinese labels will show as empty boxes; "
                f"{_INSTALL_HINT}",
                MissingFontWarning,
                stacklevel=4,
            )
        return None
    families = list(matplotlib.rcParams["font.family"])
    return families if font in families else [*families, font]


def axes_for(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the axes of a new pyplot figure of ``figsize`` inches when ``None``.

    A new figure is made with pyplot, so a notebook shows it as it shows any other.
    """
    require_matplotlib()
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(figsize=figsize, layout="constrained")
    return axes


def apply_fonts(lang: Lang, *axes: Axes) -> None:
    """Give every text of ``axes`` the CJK fallback font (see the module docstring).

    Tick labels made later (on zoom or resize) copy the font of the first tick, which
    is set here too, and ``tick_params`` keeps it for new ticks.
    """
    families = _families(lang)
    if families is None:
        return
    from matplotlib.text import Text

    for each in axes:
        for artist in each.findobj(Text):
            artist.set_fontfamily(families)
        each.tick_params(which="both", labelfontfamily=families)
        legend = each.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                text.set_fontfamily(families)
            legend.get_title().set_fontfamily(families)


def check_choice(value: Any, allowed: tuple[str, ...], what: str) -> str:
    """``value`` if it is one of ``allowed``, else a ``ValidationError`` naming them."""
    if isinstance(value, str) and value in allowed:
        return value
    expected = ", ".join(repr(a) for a in allowed)
    raise ValidationError(f"{what} must be one of {expected}, got {shorten(value)}")
