"""benchmarks/README.md's list of measurements names every section, in order, by a working link."""

from __future__ import annotations

import re

from tests.support import ROOT

README = ROOT / "benchmarks" / "README.md"
CONTENTS_START = "The measurements, section by section:"


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, every character but letters, digits, spaces,
    hyphens and underscores dropped, spaces made hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(text: str) -> list[str]:
    return [line[3:] for line in text.splitlines() if line.startswith("## ")]


def contents(text: str) -> list[tuple[str, str]]:
    """(shown text, link target) of each item of the list after :data:`CONTENTS_START`."""
    lines = text.splitlines()
    start = lines.index(CONTENTS_START) + 1
    items = []
    for line in lines[start + 1:]:
        if not line.startswith("- "):
            break
        match = re.fullmatch(r"- \[(.+)\]\(#([^)]+)\)", line)
        assert match, f"not a link to a section: {line!r}"
        items.append((match.group(1), match.group(2)))
    return items


def test_the_anchor_is_githubs():
    assert anchor("Measured: `frontier.py` (2 cores, AMD EPYC, 2026-12-01)") == \
        "measured-frontierpy-2-cores-amd-epyc-2026-12-01"
    assert anchor("Measured: the CPU's products through NumPy's BLAS") == \
        "measured-the-cpus-products-through-numpys-blas"


def test_the_contents_list_every_section_in_order_with_its_anchor():
    text = README.read_text(encoding="utf-8")
    sections = headings(text)
    assert len(sections) > 20 and len(set(map(anchor, sections))) == len(sections)  # no anchor suffixes needed
    listed = contents(text)
    assert [target for _, target in listed] == [anchor(h) for h in sections]
    assert [shown for shown, _ in listed] == [h.removeprefix("Measured: ") for h in sections]
