"""Templates to Markdown: a sandboxed Jinja2 environment with Danish filters, and its checker.

Every value a template prints passes through :func:`markdown_escape`, so data come out
exactly as typed (``*``, ``#``, ``|``, ``<``, ``&`` are never read as Markdown or HTML)
and a missing value shows as ``[mangler]``. ``check_templates`` finds syntax errors,
unknown names (also inside loops and attribute paths, against a sample context), errors
when rendering, and leftover placeholder text, each with its file and line.
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from .. import danish

MISSING = "[mangler]"
_ESCAPE = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|&~\"'=:])")
LEFTOVERS = re.compile(
    r"\bXXX+\b|\bTODO\b|\bFIXME\b|\[ *inds(æ|ae)t[^\]]*\]|<<[^>]*>>|\bNN\b|…|\.\.\.|\?\?\?",
    re.IGNORECASE)


# Characters XML 1.0 (and so Word) cannot hold: C0 controls other than tab and newline.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class RawMarkdown(str):
    """Markdown written as Markdown (a case's own text for a section of its letter): a
    template prints it as it is, to be read as Markdown (raw HTML in it stays text)."""


def markdown_escape(value: Any) -> str:
    """A value as Markdown text that reads back as exactly this text.

    Line breaks (also CR and CRLF) stay line breaks, never the end of a block; leading
    spaces of a line stay; characters Word cannot store become spaces. A
    :class:`RawMarkdown` is printed as it is.
    """
    if isinstance(value, RawMarkdown):
        return str(value)
    if value is None:
        return MISSING
    text = _NOT_XML.sub(" ", str(value).replace("\r\n", "\n").replace("\r", "\n"))
    text = _ESCAPE.sub(r"\\\1", text)
    lines = re.split(r"\n+", text.strip("\n"))
    kept = [re.sub(r"^[ \t]+", lambda m: "".join(f"&#{ord(c)};" for c in m.group()), line)
            for line in lines]
    return "\\\n".join(kept)


def _paragraph(value: Any, stk: int | None = None, nr: int | None = None) -> str:
    text = f"§ {str(value).removeprefix('§').strip()}"
    if stk is not None:
        text += f", stk. {stk}"
    if nr is not None:
        text += f", nr. {nr}"
    return text


def _dateish(f: Any) -> Any:
    @functools.wraps(f)
    def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = date.fromisoformat(value)
        return f(value, *args, **kwargs)
    return wrapper


@jinja2.pass_context
def local_text(context: jinja2.runtime.Context, text: Any) -> RawMarkdown:
    """A cooperation's local text (the installation file's ``texts``) rendered as a
    template of its own, in the same sandbox and with what the template sees, as Markdown
    (its values escaped as the template's are); none: nothing."""
    if not text:
        return RawMarkdown("")
    made = context.environment.from_string(str(text)).render(context.get_all())
    return RawMarkdown(made.strip("\n"))


FILTERS = {
    "long_date": _dateish(danish.long_date),
    "weekday_date": _dateish(functools.partial(danish.long_date, weekday=True)),
    "numeric_date": _dateish(danish.numeric_date),
    "amount": lambda v, decimals=2: None if v is None else danish.amount(Decimal(str(v)),
                                                                         decimals=decimals),
    "millions": lambda v: None if v is None else danish.millions(Decimal(str(v))),
    "number": lambda v, decimals=0: None if v is None else danish.number(Decimal(str(v)),
                                                                         decimals=decimals),
    "percent": lambda v: None if v is None else danish.percent(Decimal(str(v))),
    "add_days": _dateish(lambda d, days: d + timedelta(days=days)),
    "paragraph": _paragraph,
    "join_and": danish.join_and,
    "in_sentence": danish.in_sentence,
    "local_text": local_text,
}


def make_environment(directory: Path) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(directory)), undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False,
        finalize=markdown_escape)
    env.filters.update(FILTERS)
    return env


def make_text_environment(directory: Path) -> SandboxedEnvironment:
    """For plain-text e-mails: the same sandbox and filters, no Markdown escaping."""
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(directory)), undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False,
        finalize=lambda v: "" if v is None else v)
    env.filters.update(FILTERS)
    return env


# --------------------------------------------------------------------------- checking
@dataclass(frozen=True)
class TemplateProblem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line or '?'}: {self.message}"


class _Unknown:
    """A value the checker cannot see into (the result of a call or a filter)."""


UNKNOWN = _Unknown()


class _Walker:
    """Walk a template's AST resolving every name and attribute against a sample."""

    def __init__(self, env: jinja2.Environment, file: str, context: Mapping[str, Any]) -> None:
        self.env, self.file = env, file
        self.problems: list[TemplateProblem] = []
        self.scopes: list[dict[str, Any]] = [dict(context)]

    def problem(self, node: nodes.Node, message: str) -> None:
        self.problems.append(TemplateProblem(self.file, node.lineno, message))

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.env.globals:
            return UNKNOWN
        raise KeyError(name)

    def value(self, node: nodes.Node) -> Any:  # noqa: C901 - one branch per node type
        if isinstance(node, nodes.Name):
            try:
                return self.lookup(node.name)
            except KeyError:
                self.problem(node, f"unknown name {node.name!r}")
                return UNKNOWN
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            base = self.value(node.node)
            key = node.attr if isinstance(node, nodes.Getattr) else \
                node.arg.value if isinstance(node.arg, nodes.Const) else None
            if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
                self.value(node.arg)
                return UNKNOWN
            return self.attribute(node, base, key)
        if isinstance(node, nodes.Filter | nodes.Test):
            registry = self.env.filters if isinstance(node, nodes.Filter) else self.env.tests
            if node.name not in registry:
                kind = "filter" if isinstance(node, nodes.Filter) else "test"
                self.problem(node, f"unknown {kind} {node.name!r}")
            parts: list[nodes.Node | None] = [node.node, *node.args,
                                              *(k.value for k in node.kwargs)]
            for part in parts:
                if part is not None:
                    self.value(part)
            return UNKNOWN
        if isinstance(node, nodes.Const):
            return node.value
        for sub in node.iter_child_nodes():
            self.value(sub)
        return UNKNOWN

    def attribute(self, node: nodes.Node, base: Any, key: Any) -> Any:
        if base is UNKNOWN or base is None or key is None:
            return UNKNOWN
        if isinstance(base, Mapping):
            if key in base:
                return base[key]
            self.problem(node, f"unknown name {key!r} (known here: {', '.join(sorted(base))})")
            return UNKNOWN
        if isinstance(base, list | tuple) and isinstance(key, int):
            return base[key] if -len(base) <= key < len(base) else UNKNOWN
        if isinstance(base, str | int | float | date | Decimal):
            return UNKNOWN  # methods of plain values; the sandbox guards them at run time
        self.problem(node, f"cannot look up {key!r} here")
        return UNKNOWN

    def walk(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.For):
            seq = self.value(node.iter)
            item = seq[0] if isinstance(seq, list | tuple) and seq else UNKNOWN
            scope: dict[str, Any] = {"loop": UNKNOWN}
            self.bind(node.target, item, scope)
            self.scopes.append(scope)
            if node.test is not None:
                self.value(node.test)
            for child in node.body:
                self.walk(child)
            self.scopes.pop()
            for child in node.else_:
                self.walk(child)
        elif isinstance(node, nodes.Assign):
            self.bind(node.target, self.value(node.node), self.scopes[-1])
        elif isinstance(node, nodes.Output):
            for child in node.nodes:
                if not isinstance(child, nodes.TemplateData):
                    self.value(child)
        elif isinstance(node, nodes.If):
            self.value(node.test)
            for child in [*node.body, *node.elif_, *node.else_]:
                self.walk(child)
        elif isinstance(node, nodes.Expr):
            self.value(node)
        else:
            for child in node.iter_child_nodes():
                if isinstance(child, nodes.Stmt | nodes.Template):
                    self.walk(child)
                else:
                    self.value(child)

    def bind(self, target: nodes.Node, value: Any, scope: dict[str, Any]) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = value
        elif isinstance(target, nodes.Tuple):
            for i, item in enumerate(target.items):
                part = value[i] if isinstance(value, list | tuple) and i < len(value) \
                    else UNKNOWN
                self.bind(item, part, scope)


def _render_problem(exc: Exception, file: str) -> TemplateProblem:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(file):
            line = frame.lineno
    return TemplateProblem(file, line, f"{type(exc).__name__}: {exc}")


def check_template(env: jinja2.Environment, name: str,
                   samples: Mapping[str, Mapping[str, Any]]) -> list[TemplateProblem]:
    """Every problem of one template; ``samples`` maps a label to a context to try."""
    assert env.loader is not None
    source, filename, _ = env.loader.get_source(env, name)
    problems: list[TemplateProblem] = []
    for i, raw_line in enumerate(source.splitlines(), 1):
        text = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", "", raw_line)
        for m in LEFTOVERS.finditer(text):
            problems.append(TemplateProblem(name, i, f"leftover placeholder text {m.group()!r}"))
    try:
        ast = env.parse(source, name, filename)
    except jinja2.TemplateSyntaxError as exc:
        return [*problems, TemplateProblem(name, exc.lineno, f"syntax error: {exc.message}")]
    full = next(iter(samples.values()))
    walker = _Walker(env, name, full)
    walker.walk(ast)
    problems.extend(walker.problems)
    if walker.problems:
        return problems
    for label, context in samples.items():
        try:
            text = env.get_template(name).render(context)
        except Exception as exc:  # noqa: BLE001 - any failure is the template's problem
            problems.append(_render_problem(exc, name))
            continue
        if label == "full" and not text.strip():
            problems.append(TemplateProblem(name, None, "renders to nothing (an empty "
                                                        "document) with every value set"))
        if label == "full" and MISSING in text:
            out_line = next(i for i, ln in enumerate(text.splitlines(), 1) if MISSING in ln)
            problems.append(TemplateProblem(
                name, None, f"a value is missing even with every value set (output line "
                            f"{out_line}); guard it with {{% if %}} or use another name"))
    return problems
