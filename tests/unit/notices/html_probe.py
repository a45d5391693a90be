"""A small HTML reader for tests: elements with their attributes and text, as a browser's parser sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class _Open:
    element: Element
    parts: list[str] = field(default_factory=list)


class HtmlProbe(HTMLParser):
    """Collects every start tag, the text of every element by id, and the page's visible text."""

    _VOID = frozenset({"meta", "input", "br", "hr", "img", "link"})

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text_parts: list[str] = []
        self._stack: list[_Open] = []
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        self._in_style = tag == "style"
        if tag not in self._VOID:
            self._stack.append(_Open(element))

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index].element.tag == tag:
                opened = self._stack.pop(index)
                opened.element.text = "".join(opened.parts)
                break

    def handle_data(self, data: str) -> None:
        if self._in_style:
            return
        self.text_parts.append(data)
        for opened in self._stack:
            opened.parts.append(data)

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"expected one element with id {element_id!r}, found {len(found)}"
        return found[0]

    def has_id(self, element_id: str) -> bool:
        return any(e.attrs.get("id") == element_id for e in self.elements)

    def tags(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())
