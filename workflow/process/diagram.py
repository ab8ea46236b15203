"""Mermaid ``stateDiagram-v2`` text for a process, with the current state marked.

Written here rather than taken from ``transitions.extensions`` because that renderer
emits ``Class`` (not valid Mermaid) and draws the *current* state as the initial one.
"""

from __future__ import annotations

from .definition import ProcessSpec

# How the current state is marked: paint only. A font, size or padding here would make its
# label bigger than the box of a renderer that sized the box before applying the class.
# (The web page draws its own picture, workflow/web/svg.py, boxes sized for a bold label.)
CURRENT_STYLE = "fill:#fde68a,stroke:#b45309,stroke-width:3px"


def _quote(text: str) -> str:
    return text.replace('"', "'")


def mermaid(process: ProcessSpec, *, current: str | None = None, lang: str = "da") -> str:
    lines = ["stateDiagram-v2"]
    for s in process.states.values():
        label = s.label.da if lang == "da" else s.label.en
        lines.append(f'    state "{_quote(label)}" as {s.name}')
    for initial in dict.fromkeys(k.initial for k in process.kinds.values()):
        lines.append(f"    [*] --> {initial}")
    edges: dict[tuple[str, str], list[str]] = {}
    for t in process.transitions:
        edges.setdefault((t.source, t.dest), [])
        if t.trigger not in edges[(t.source, t.dest)]:
            edges[(t.source, t.dest)].append(t.trigger)
    for (src, dst), triggers in edges.items():
        lines.append(f"    {src} --> {dst} : {', '.join(triggers)}")
    for s in process.states.values():
        if s.final:
            lines.append(f"    {s.name} --> [*]")
    if current:
        lines.append(f"    classDef current {CURRENT_STYLE}")
        lines.append(f"    class {current} current")
    return "\n".join(lines) + "\n"
