"""The glossary at the end of notebook 03 is the one place terms are defined: every link to it from any notebook
lands on an anchor that exists, and each anchor is defined once."""
import json
import re
from collections import Counter

from cibtools import paths

NOTEBOOKS = paths.REPO_ROOT / "notebooks"
PRIMER = "03-adversarial-examples.ipynb"
LINK = re.compile(r"\]\((?:\./)?" + re.escape(PRIMER) + r"#([\w-]+)\)")
ANCHOR = re.compile(r"<a id=\"([\w-]+)\"></a>")


def _markdown(book):
    return ["".join(c["source"]) for c in json.loads(book.read_text())["cells"] if c["cell_type"] == "markdown"]


def test_every_glossary_link_has_its_anchor_and_every_anchor_is_unique():
    anchors = Counter(a for text in _markdown(NOTEBOOKS / PRIMER) for a in ANCHOR.findall(text))
    assert anchors, "notebook 03 has no glossary anchors"
    assert not [a for a, n in anchors.items() if n > 1], anchors
    links = {(book.name, target) for book in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
             for text in _markdown(book) for target in LINK.findall(text)}
    broken = sorted((name, target) for name, target in links if target not in anchors)
    assert not broken, f"links to glossary anchors that notebook 03 does not define: {broken}"
    linked_from = {name for name, _ in links}
    assert len(linked_from - {PRIMER}) >= 5, f"the glossary is linked from too few notebooks: {sorted(linked_from)}"
