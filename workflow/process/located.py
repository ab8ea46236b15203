"""YAML read with a line number for every key, and a checker that collects problems.

``LocatedYaml`` composes the document into nodes (the C parser where it is built) and
turns them into plain values, remembering the line of every path; ``Checker`` records
problems against paths, so a validator can report all of them at once, each located.

A document is refused at once, located, where it nests deeper than :data:`MAX_DEPTH` or
expands to more than :data:`MAX_VALUES` values: aliases of aliases can make a kilobyte
mean gigabytes (a "billion laughs"), and ``states.yaml`` is nine levels and some two
thousand values.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import DefinitionError, Problem

Path_ = tuple[str | int, ...]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser, where built
_SCALARS = yaml.constructor.SafeConstructor()
MAX_DEPTH = 64           # levels of mappings and lists
MAX_VALUES = 100_000     # values, once every alias is expanded


class LocatedYaml:
    """Plain Python values from YAML nodes, with a line for every path."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        self.values = 0  # converted so far, aliases expanded
        self._sizes: dict[int, int] = {}  # id(node) -> its values, once converted
        try:
            node = _compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            msg = getattr(exc, "problem", None) or str(exc)
            raise DefinitionError([Problem(file, line, "(syntax)", str(msg))]) from None
        except RecursionError:  # (the pure-Python composer, where no C parser is built)
            raise self._too_deep((), _deep_line(text)) from None
        self.root: Any = self._convert(node, ()) if node is not None else {}

    def _too_deep(self, path: Path_, line: int | None) -> DefinitionError:
        return DefinitionError([Problem(self.file, line, _key(path),
                                        f"nested more than {MAX_DEPTH} levels deep")])

    def _convert(self, node: yaml.Node, path: Path_) -> Any:
        if len(path) > MAX_DEPTH:
            raise self._too_deep(path, node.start_mark.line + 1)
        size = self._sizes.get(id(node))
        if size is not None and self.values + size > MAX_VALUES:  # an alias, expanded
            raise DefinitionError([Problem(
                self.file, self.line(path) or node.start_mark.line + 1, _key(path),
                f"the document expands to more than {MAX_VALUES:,} values (aliases of "
                f"aliases); write it out without them")])
        before = self.values
        self.values += 1
        if self.values > MAX_VALUES:
            raise DefinitionError([Problem(self.file, node.start_mark.line + 1, _key(path),
                                           f"more than {MAX_VALUES:,} values")])
        value = self._value(node, path)
        self._sizes[id(node)] = self.values - before
        return value

    def _value(self, node: yaml.Node, path: Path_) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in out:  # keep the first, report the second, go on
                    self.problems.append(Problem(self.file, key_node.start_mark.line + 1,
                                                 ".".join(map(str, path + (key,))),
                                                 "duplicate key"))
                    continue
                out[key] = self._convert(value_node, path + (key,))
                self.lines[path + (key,)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._convert(v, path + (i,)) for i, v in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        return _SCALARS.construct_object(node)  # ints, bools, null, floats

    def line(self, path: Path_) -> int | None:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)


def _compose(text: str) -> yaml.Node | None:
    """``text`` composed by the C parser; on an error, by the pure-Python one, which words
    its errors better (unless the text nests too deeply for its recursion: then the C
    parser's error is said)."""
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as first:
        if _LOADER is yaml.SafeLoader or "nesting depth" in str(getattr(first, "problem", "")):
            raise
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except RecursionError:
            raise first from None


def _deep_line(text: str) -> int | None:
    """The line where ``text`` first nests deeper than :data:`MAX_DEPTH` (the parser's
    events come without recursion)."""
    depth = -1  # the top level is no level (as a path counts keys)
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return event.start_mark.line + 1 if event.start_mark else None
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _key(path: Path_) -> str:
    """A path as a problem names its key: the first levels of a deep one, then "…"."""
    shown = ".".join(str(p) for p in path[:6]) or "(top)"
    return shown + ".…" if len(path) > 6 else shown


class Checker:
    """Collects every problem of a document, each with the line of the key it is about."""

    def __init__(self, doc: LocatedYaml) -> None:
        self.doc = doc
        self.problems: list[Problem] = list(doc.problems)

    def error(self, path: Path_, message: str) -> None:
        key = ".".join(str(p) for p in path) or "(top)"
        self.problems.append(Problem(self.doc.file, self.doc.line(path), key, message))

    def mapping(self, value: Any, path: Path_, *, required: bool = True) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        if value is not None or required:
            self.error(path, f"expected a mapping, got {type(value).__name__}")
        return {}

    def keys(self, value: dict[str, Any], path: Path_, allowed: set[str],
             required: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        for k in value:
            if k not in allowed:
                self.error(path + (k,),
                           f"unknown key; expected one of {', '.join(sorted(allowed))}")
        for k in sorted(required - value.keys()):
            self.error(path, f"missing required key {k!r}")

    def texts(self, value: Any, path: Path_, keys: tuple[str, ...]) -> list[str]:
        """Non-empty texts under ``keys`` of a mapping (e.g. a label's da and en)."""
        m = self.mapping(value, path)
        out = []
        for key in keys:
            text = m.get(key)
            if not isinstance(text, str) or not text.strip():
                self.error(path + (key,), "a label needs a non-empty text")
            out.append(str(text or ""))
        return out

    def names(self, value: Any, path: Path_) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        self.error(path, "expected a name or a list of names")
        return []
