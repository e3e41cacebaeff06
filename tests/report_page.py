"""Reading a report page back with the standard library's HTML parser (tests' helper)."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """The parts of a page the tests read: texts by id, tables, headings, attributes.

    Attributes:
        by_id: Text inside each element with an ``id`` (its whole subtree).
        tables: Rows of each table with an ``id``, each row its cells' texts.
        headings: The texts of ``h1`` and ``h2`` elements, in order.
        images: The ``src`` of every ``img``.
        attributes: Every attribute value of every element.
        text: All text of the page, joined.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.headings: list[str] = []
        self.images: list[str] = []
        self.attributes: list[str] = []
        self.text = ""
        self._open: list[tuple[str, str | None, list[str]]] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        """Open an element: note its id, attributes, table rows and cells."""
        found = dict(attrs_)
        self.attributes += [v for _, v in attrs_ if v is not None]
        if tag == "img" and found.get("src"):
            self.images.append(str(found["src"]))
        if tag in ("img", "meta", "br", "link", "input"):
            return  # void elements
        self._open.append((tag, found.get("id"), []))
        if tag == "table" and found.get("id"):
            self._table = str(found["id"])
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        """Close an element: store its text by id, finish cells and rows."""
        if tag in ("img", "meta", "br", "link", "input") or not self._open:
            return
        opened, element_id, parts = self._open.pop()
        assert opened == tag, f"</{tag}> closes <{opened}>"
        content = "".join(parts)
        if self._open:
            self._open[-1][2].append(content)
        if element_id is not None:
            self.by_id[element_id] = content
        if tag in ("h1", "h2"):
            self.headings.append(content)
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(content)
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        """Text: added to every open element."""
        self.text += data
        if self._open:
            self._open[-1][2].append(data)


def parse(html: str) -> Page:
    """The page read from ``html``."""
    page = Page()
    page.feed(html)
    page.close()
    return page
