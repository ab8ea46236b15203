"""The process as an SVG picture, drawn on the server (no script, no outside fonts).

States are placed in rows by their distance from the initial state; arrows join them;
the current state is filled, final states have a double border. Each state carries a
<title> so that screen readers and tooltips name it.

Text cannot be measured on the server, so every box is as wide as the process's longest
label could be in bold (as the current state's label is drawn) in a wide font
(:func:`label_width`), with room on each side: whichever state is current, its label
fits its box, and the layout is the same for every case of the process.
"""

from __future__ import annotations

import math
import unicodedata
from html import escape

from ..process.spec import ProcessSpec

W, H, GAP_X, GAP_Y, PAD = 176, 40, 24, 46, 12  # W: the narrowest a box is drawn
FONT_SIZE = 12.5
INSET = 10  # between a label and its box's edge: clear of the rounded corner and border
BORDER = {False: 1.5, True: 3.0}  # stroke width, by final

# Advance widths in em, each at least that of the widest glyph of its group in DejaVu Sans
# Bold (what system-ui falls back to on Linux, and wider than most fonts it stands for)
# and in Liberation Sans Bold (Arial's metrics), so that an estimate is never short of
# what a browser draws.
_NARROW = frozenset(" '.,:;|ijlI")
_SLIM = frozenset('!"-/()[]ftrJ\N{EN DASH}')
_WIDE = frozenset("mwMWæÆœŒ%@&\N{EM DASH}")


def _advance(char: str) -> float:
    if char in _NARROW:
        return 0.40
    if char in _SLIM:
        return 0.56
    if char in _WIDE:
        return 1.17
    if unicodedata.combining(char):
        return 0.0
    if unicodedata.east_asian_width(char) in "WF":
        return 1.05
    return 0.72 if char.islower() or char.isdigit() else 0.86


def label_width(text: str) -> float:
    """How wide ``text`` can be, in the SVG's units, drawn in bold at :data:`FONT_SIZE`
    (at most: an estimate from above, see :data:`_NARROW`)."""
    return FONT_SIZE * sum(_advance(c) for c in unicodedata.normalize("NFD", text))


def box_width(process: ProcessSpec) -> int:
    """How wide every box of ``process`` is drawn: at least :data:`W`, and wide enough for
    its longest label in bold, inside the thicker border of a final state."""
    need = max(label_width(s.label.da) for s in process.states.values())
    return max(W, math.ceil(need + 2 * INSET + BORDER[True]))


def state_svg(process: ProcessSpec, *, current: str | None = None) -> str:
    w = box_width(process)
    initial = next(iter(process.kinds.values())).initial
    rank = {initial: 0}
    frontier = [initial]
    while frontier:  # breadth first: each state in the row of its shortest distance
        nxt = []
        for s in frontier:
            for t in process.transitions:
                if t.source == s and t.dest not in rank:
                    rank[t.dest] = rank[s] + 1
                    nxt.append(t.dest)
        frontier = nxt
    rows: dict[int, list[str]] = {}
    for s in process.states:
        rows.setdefault(rank.get(s, max(rank.values()) + 1), []).append(s)
    widest = max(len(r) for r in rows.values())
    width = widest * (w + GAP_X) - GAP_X + 2 * PAD
    height = len(rows) * (H + GAP_Y) - GAP_Y + 2 * PAD
    pos: dict[str, tuple[float, float]] = {}
    for r, names in sorted(rows.items()):
        left = (width - (len(names) * (w + GAP_X) - GAP_X)) / 2
        for i, s in enumerate(names):
            pos[s] = (left + i * (w + GAP_X), PAD + r * (H + GAP_Y))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
             f'role="img" aria-label="Sagens forløb" class="diagram">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
             'fill="#6b7280"/></marker></defs>']
    seen = set()
    for t in process.transitions:
        if t.source == t.dest or (t.source, t.dest) in seen:
            continue
        seen.add((t.source, t.dest))
        (x1, y1), (x2, y2) = pos[t.source], pos[t.dest]
        down = y2 > y1
        sx, sy = x1 + w / 2, y1 + (H if down else 0)
        ex, ey = x2 + w / 2, y2 + (0 if down else H)
        if y1 == y2:
            sy, ey = y1 + H / 2, y2 + H / 2
            sx, ex = (x1 + w, x2) if x2 > x1 else (x1, x2 + w)
        bend = 0 if down else 40
        parts.append(f'<path d="M{sx:.0f},{sy:.0f} C{sx + bend:.0f},{(sy + ey) / 2:.0f} '
                     f'{ex + bend:.0f},{(sy + ey) / 2:.0f} {ex:.0f},{ey:.0f}" fill="none" '
                     f'stroke="#9ca3af" stroke-width="1.3" marker-end="url(#arrow)"/>')
    for name, state in process.states.items():
        x, y = pos[name]
        now = name == current
        fill, stroke, ink = ("#1d4ed8", "#1e3a8a", "#ffffff") if now else \
            ("#ffffff", "#4b5563" if state.final else "#9ca3af", "#111827")
        border = BORDER[state.final]
        weight = ' font-weight="600"' if now else ""
        parts.append(
            f'<g class="state{" current" if now else ""}" data-state="{name}">'
            f'<title>{escape(state.label.da)}{" (nu)" if now else ""}</title>'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{w}" height="{H}" rx="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{border:g}"/>'
            f'<text x="{x + w / 2:.0f}" y="{y + H / 2 + 4:.0f}" text-anchor="middle" '
            f'font-family="system-ui, sans-serif" font-size="{FONT_SIZE}" fill="{ink}"'
            f'{weight}>{escape(state.label.da)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
