"""The pieces of a self-contained HTML page: escaped text, tables, figures, the page.

Every text that reaches the page goes through :func:`html.escape` (quotes included), so a
customer named ``<b>"A&B"</b>`` shows as written. The page loads nothing: its style is
inline, its pictures are ``data:`` URIs, it has no script, and its Content Security
Policy (:data:`CONTENT_SECURITY_POLICY`) makes a browser refuse any other load.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Final

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "Cell",
    "Section",
    "esc",
    "figure",
    "page",
    "paragraph",
    "table",
]

CONTENT_SECURITY_POLICY: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""The page's policy: inline style and ``data:`` images only; anything else is refused."""

_STYLE: Final = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC",
  "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", sans-serif;
  margin: 0; color: #1d2733; background: #f6f7f9; line-height: 1.45; }
header { background: #0b3d6b; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
header p { margin: 0; opacity: .9; }
nav { padding: .6rem 2rem; background: #e8edf3; font-size: .9rem; }
nav a { color: #0b3d6b; margin-right: 1.1rem; }
main { max-width: 1180px; margin: 0 auto; padding: 1rem 2rem 3rem; }
section { background: #fff; border-radius: 6px; padding: 1rem 1.4rem 1.2rem;
  margin: 1.2rem 0; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
h2 { margin: .2rem 0 .8rem; font-size: 1.3rem; color: #0b3d6b; }
h3 { margin: 1.1rem 0 .4rem; font-size: 1.05rem; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr));
  gap: 1rem; margin-top: .8rem; }
.figures.single { grid-template-columns: minmax(0, 860px); justify-content: center; }
.figures.wide { grid-template-columns: minmax(0, 1fr); }
.headline { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr));
  gap: .7rem; margin: 0 0 1rem; }
.headline div { background: #f1f5fa; border-radius: 5px; padding: .55rem .8rem; }
.headline dt { font-size: .8rem; color: #4a5a6a; }
.headline dd { margin: .1rem 0 0; font-size: 1.2rem; font-weight: 600;
  font-variant-numeric: tabular-nums; }
figure { margin: 0; }
figure img { width: 100%; height: auto; display: block; border: 1px solid #e3e7ec;
  border-radius: 4px; background: #fff; }
figcaption { font-size: .85rem; color: #4a5a6a; margin-top: .3rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .88rem; margin: .3rem 0 .6rem; }
caption { text-align: left; font-weight: 600; padding: .2rem 0 .4rem; }
th, td { padding: .28rem .6rem; border-bottom: 1px solid #e3e7ec; vertical-align: top; }
th { background: #f1f5fa; text-align: left; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot td { font-weight: 600; border-top: 2px solid #c9d2dc; }
td.why { min-width: 18rem; }
td.nowrap { white-space: nowrap; }
td.name { min-width: 7em; }
p.note { font-size: .85rem; color: #4a5a6a; margin: .2rem 0 .6rem; }
.up { color: #1e7b34; }
.down { color: #b3261e; }
"""


def esc(value: object) -> str:
    """``str(value)`` escaped for HTML text and attribute values (``<``, ``&``, quotes)."""
    return html.escape(str(value), quote=True)


@attrs.frozen
class Cell:
    """A table cell: its text, whether it is a number (right-aligned) and a CSS class.

    Attributes:
        text: The text shown (escaped when written).
        number: Right-align it and keep it on one line.
        css: Extra CSS classes.
        id: An ``id`` attribute, for readers of the page (tests, links).
    """

    text: str
    number: bool = False
    css: str = ""
    id: str | None = None

    def render(self, tag: str = "td") -> str:
        """The cell as HTML."""
        classes = " ".join(c for c in ("num" if self.number else "", self.css) if c)
        attributes = f' class="{esc(classes)}"' if classes else ""
        if self.id is not None:
            attributes += f' id="{esc(self.id)}"'
        return f"<{tag}{attributes}>{esc(self.text)}</{tag}>"


def _cell(value: Cell | str) -> Cell:
    return value if isinstance(value, Cell) else Cell(value)


def table(
    headings: Sequence[Cell | str],
    rows: Iterable[Sequence[Cell | str]],
    *,
    caption: str | None = None,
    footer: Sequence[Cell | str] | None = None,
    id: str | None = None,
) -> str:
    """A table: a caption, a head row, body rows and an optional footer row."""
    parts = ['<div class="scroll"><table' + (f' id="{esc(id)}"' if id else "") + ">"]
    if caption:
        parts.append(f"<caption>{esc(caption)}</caption>")
    parts.append("<thead><tr>")
    parts += [_cell(h).render("th") for h in headings]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(_cell(c).render() for c in row) + "</tr>")
    parts.append("</tbody>")
    if footer is not None:
        parts.append("<tfoot><tr>" + "".join(_cell(c).render() for c in footer) + "</tr></tfoot>")
    parts.append("</table></div>")
    return "".join(parts)


def paragraph(text: str, css: str = "") -> str:
    """One paragraph of escaped text."""
    return f'<p class="{esc(css)}">{esc(text)}</p>' if css else f"<p>{esc(text)}</p>"


def figure(data_uri: str, caption: str, *, id: str) -> str:
    """A picture given as a ``data:`` URI, its caption also its ``alt`` text."""
    return (
        f'<figure id="{esc(id)}"><img src="{esc(data_uri)}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


@attrs.frozen
class Section:
    """One section of the page: its anchor, heading and body (HTML made by this module).

    Attributes:
        id: The anchor (``#headline``), also the section's ``id``.
        heading: The heading, escaped when written.
        body: The body's HTML.
    """

    id: str
    heading: str
    body: str

    def render(self) -> str:
        """The section as HTML."""
        return f'<section id="{esc(self.id)}"><h2>{esc(self.heading)}</h2>{self.body}</section>'


def page(
    *, title: str, subtitle: str, sections: Sequence[Section], lang: str, contents: str
) -> str:
    """The whole page: head with the policy and style, a header, a contents bar, sections."""
    links = "".join(f'<a href="#{esc(s.id)}">{esc(s.heading)}</a>' for s in sections)
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CONTENT_SECURITY_POLICY)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="keyaccount report">\n'
        f"<title>{esc(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>\n"
        f'<nav aria-label="{esc(contents)}">{links}</nav>\n<main>\n'
        + "\n".join(s.render() for s in sections)
        + "\n</main>\n</body>\n</html>\n"
    )
