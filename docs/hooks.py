"""MkDocs hooks: the README as a page, and the repository files the docs link to.

The pages in ``docs/`` are read on the repository host as well as on the site, so they
link to files outside ``docs/`` (``../examples/quickstart.py``, ``../README.md``). On the
site those targets do not exist; these hooks make them exist:

- ``getting-started.md`` is generated from ``README.md``, its links rewritten to the
  site's pages;
- every repository file a page links to (``../examples/...``, ``../src/...``) is copied
  to ``repo/<its path>``, and a linked directory gets a generated page listing its files;
- links to those targets are rewritten to point at the copies, so ``mkdocs build
  --strict`` checks every link and anchor.

Configured in ``mkdocs.yml`` (``hooks:``); not part of the package.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README_PAGE = "getting-started.md"
REPO_PREFIX = "repo"
LINK = re.compile(r"(\]\()([^)\s]+)(\))")
SKIP = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|#|/)", re.IGNORECASE)


def _target(base: Path, link: str) -> tuple[Path, str] | None:
    """The repository path a relative link points at, and its ``#anchor`` part."""
    if SKIP.match(link):
        return None
    path, _, anchor = link.partition("#")
    resolved = (base / path).resolve()
    if not resolved.is_relative_to(ROOT) or not resolved.exists():
        return None
    return resolved, f"#{anchor}" if anchor else ""


def _site_uri(path: Path) -> str | None:
    """Where a repository path lives on the site (a docs URI); None for docs-internal ones."""
    if path == ROOT / "README.md":
        return README_PAGE
    if path.is_relative_to(DOCS):
        return None
    relative = path.relative_to(ROOT).as_posix()
    return f"{REPO_PREFIX}/{relative}/index.md" if path.is_dir() else f"{REPO_PREFIX}/{relative}"


def _rewrite(markdown: str, base: Path, page_uri: str) -> str:
    """Point every link to a file outside ``docs/`` at its copy on the site."""

    def replace(match: re.Match[str]) -> str:
        found = _target(base, match.group(2))
        if found is None:
            return match.group(0)
        path, anchor = found
        uri = _site_uri(path)
        if uri is None:
            uri = path.relative_to(DOCS).as_posix()
            if path.is_dir():
                return match.group(0)
        relative = posixpath.relpath(uri, posixpath.dirname(page_uri) or ".")
        return f"{match.group(1)}{relative}{anchor}{match.group(3)}"

    return LINK.sub(replace, markdown)


def _linked_outside(markdown: str, base: Path) -> set[Path]:
    """Repository files and directories outside ``docs/`` that the markdown links to."""
    found = set()
    for match in LINK.finditer(markdown):
        target = _target(base, match.group(2))
        if target is not None and not target[0].is_relative_to(DOCS):
            found.add(target[0])
    return found


def _listing(directory: Path) -> str:
    """A page listing a linked directory's files."""
    relative = directory.relative_to(ROOT).as_posix()
    lines = [f"# `{relative}/`", ""]
    for child in sorted(directory.iterdir()):
        if child.is_file() and not child.name.startswith("."):
            lines.append(f"- [`{child.name}`]({child.name})")
    return "\n".join(lines) + "\n"


def on_files(files: Files, config: Any) -> Files:
    """Add the README page and copies of the repository files the pages link to."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    files.append(File.generated(config, README_PAGE, content=_rewrite(readme, ROOT, README_PAGE)))
    wanted = _linked_outside(readme, ROOT)
    for page in DOCS.rglob("*.md"):
        wanted |= _linked_outside(page.read_text(encoding="utf-8"), page.parent)
    for path in sorted(wanted):
        uri = _site_uri(path)
        if uri is None or uri == README_PAGE:
            continue
        if path.is_dir():
            files.append(File.generated(config, uri, content=_listing(path)))
            for child in path.iterdir():
                child_uri = f"{REPO_PREFIX}/{child.relative_to(ROOT).as_posix()}"
                if child.is_file() and files.get_file_from_path(child_uri) is None:
                    files.append(File.generated(config, child_uri, abs_src_path=str(child)))
        elif files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Rewrite a page's links to files outside ``docs/`` (the README page is done already)."""
    if page.file.src_uri == README_PAGE or page.file.abs_src_path is None:
        return markdown
    source = Path(page.file.abs_src_path)
    if not source.is_relative_to(DOCS):
        return markdown
    return _rewrite(markdown, source.parent, page.file.src_uri)
