"""Reading what the command and the reports show: parameters cells, folders, HTML pages."""

from __future__ import annotations

import hashlib
import math
from html.parser import HTMLParser
from pathlib import Path

import nbformat


def parameters_cell(path) -> dict[str, tuple[str, str]]:
    """Independent reading of a ``parameters`` cell: name -> (default source, comment)."""
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    found = {}
    for line in cell.source.splitlines():
        code, _, comment = line.partition("#")
        if "=" in code:
            target, _, default = code.partition("=")
            name = target.partition(":")[0]  # `name: type = default`
            found[name.strip()] = (default.strip(), comment.strip())
    return found


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.images, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img":
            self.images.append(attrs.get("src"))

    def handle_data(self, data):
        self.text.append(data)


def parse_html(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def open_page(driver, path: Path) -> list[dict]:
    """Load a local page and return its console errors (severity SEVERE)."""
    driver.get_log("browser")  # drop messages from the previous page
    driver.get(path.resolve().as_uri())
    driver.execute_script(
        "return Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)));"
    )
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def image_widths(driver) -> list[int]:
    return driver.execute_script(
        "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0);"
    )


def same_value(shown: str, value) -> bool:
    """Whether the text shown for a headline value is that value (numbers up to rounding)."""
    if isinstance(value, bool):
        return shown == ("yes" if value else "no")
    if isinstance(value, int | float):
        try:
            number = float(shown.replace(",", ""))
        except ValueError:
            return False
        return math.isclose(number, value, rel_tol=1e-3, abs_tol=6e-4)
    if value is None:
        return shown == "n/a"
    if isinstance(value, list):
        return shown == ", ".join(str(v) for v in value)
    return shown == str(value)
