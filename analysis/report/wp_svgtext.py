"""WeasyPrint's SVG <text> laid out per line instead of per letter (installed by render.py).

WeasyPrint 70 lays out every letter of an SVG text node on its own (a Pango
layout per character, so that per-letter x/y/dx/dy/rotate lists work). Our
charts never use those lists, and their ~2,500 letters a unit report cost
about a fifth of its rendering time. For a text node with at most one
position, no rotation, no letter-spacing and no textLength this draws the
whole string from one layout, which is what per-letter placement adds up to
(plus the font's kerning, which per-letter layout loses). Every other node
goes to WeasyPrint's own function. The replacement is installed only on the
WeasyPrint version it was written against; anything else keeps the original.
"""
from __future__ import annotations

from math import inf
from typing import Any, Callable

TESTED_MAJOR = "70"
_installed = False


def _simple(node: Any) -> bool:
    a = node.attrib
    if any(k in a for k in ("rotate", "textLength", "letter-spacing")) or not node.text:
        return False
    return all(len(a.get(k, "").replace(",", " ").split()) <= 1 for k in ("x", "y", "dx", "dy"))


def _fast_text(original: Callable[..., None]) -> Callable[..., None]:
    from weasyprint.css.properties import INITIAL_VALUES
    from weasyprint.draw.text import draw_emojis, draw_first_line
    from weasyprint.matrix import Matrix
    from weasyprint.svg.bounding_box import extend_bounding_box
    from weasyprint.svg.text import Style, TextBox
    from weasyprint.svg.utils import size
    from weasyprint.text.line_break import split_first_line

    def text(svg: Any, node: Any, font_size: float) -> None:
        if not _simple(node):
            original(svg, node, font_size)
            return
        style = Style()
        style.update(INITIAL_VALUES)
        style.font_config = svg.font_config
        style["font_family"] = [f.strip("\"'") for f in node.get("font-family", "sans-serif").split(",")]
        style["font_style"] = node.get("font-style", "normal")
        weight = node.get("font-weight", 400)
        style["font_weight"] = {"normal": 400, "bold": 700}.get(weight, weight)
        try:
            style["font_weight"] = int(style["font_weight"])
        except ValueError:
            style["font_weight"] = 400
        style["font_size"] = font_size
        if node.get("direction") in ("ltr", "rtl"):
            style["direction"] = node.get("direction")
        layout, _, _, width, height, baseline = split_first_line(node.text, style, svg.context, inf, 0)
        a = node.attrib
        x = size(a["x"], font_size, svg.inner_width) if "x" in a else svg.cursor_position[0]
        y = size(a["y"], font_size, svg.inner_height) if "y" in a else svg.cursor_position[1]
        if "x" in a:
            svg.cursor_d_position[0] = 0
        if "y" in a:
            svg.cursor_d_position[1] = 0
        svg.cursor_d_position[0] += size(a["dx"], font_size, svg.inner_width) if "dx" in a else 0
        svg.cursor_d_position[1] += size(a["dy"], font_size, svg.inner_height) if "dy" in a else 0
        y_align = _y_align(node, font_size, height)
        svg.cursor_position = x + width, y
        x_position = x + svg.cursor_d_position[0]
        y_position = y + svg.cursor_d_position[1] + y_align
        node.text_bounding_box = extend_bounding_box(
            node.text_bounding_box,
            ((x_position, y_position - baseline), (x_position + width, y_position - baseline + height)))
        svg.stream.push_state()
        fill, stroke = svg.set_graphical_state(node, font_size)
        svg.stream.begin_text()
        layout.reactivate(style)
        svg.fill_stroke(fill, stroke, text=True)
        box = TextBox(layout, style)
        box.baseline = baseline
        emojis = draw_first_line(svg.stream, box, "none", "none", Matrix(a=1, d=-1, e=x_position, f=y_position))
        svg.stream.end_text()
        svg.stream.pop_state()
        draw_emojis(svg.stream, style, x, y, emojis)

    return text


def _y_align(node: Any, font_size: float, height: float) -> float:
    # The same approximations as WeasyPrint's own text(): ascent .8 em, descent .2 em.
    ascent, descent = font_size * .8, font_size * .2
    anchor = node.get("display-anchor")
    baseline = node.get("dominant-baseline", node.get("alignment-baseline"))
    if anchor == "middle":
        return -height / 2
    if anchor == "top":
        return 0.0
    if anchor == "bottom":
        return -height
    if baseline in ("central", "middle"):
        return (ascent + descent) / 2 - descent
    if baseline in ("text-before-edge", "before_edge", "top", "hanging", "text-top"):
        return ascent
    if baseline in ("text-after-edge", "after_edge", "bottom", "text-bottom"):
        return -descent
    return 0.0


def install() -> bool:
    """Swap in the per-line text drawing; True when it is (now or already) in place."""
    global _installed
    if _installed:
        return True
    import weasyprint
    import weasyprint.svg as wsvg

    if weasyprint.__version__.split(".")[0] != TESTED_MAJOR:
        return False
    original = wsvg.text
    fast = _fast_text(original)
    # draw_node compares TAGS[tag] with the module's `text` to handle text-anchor: swap both.
    for tag, fn in list(wsvg.TAGS.items()):
        if fn is original:
            wsvg.TAGS[tag] = fast
    wsvg.text = fast
    _installed = True
    return True
