"""Plan YAML with limits: values after alias expansion, nesting depth, merge keys.

PyYAML's composer follows aliases without limit (an alias bomb expands to
billions of values), builds recursive structures from self-referencing
aliases, recurses once per nesting level, and its pure-Python parser takes
about 13 s per MB. Here libyaml's event stream (when PyYAML has it) is
composed into a small tree while counting: every value counts once, an alias
counts the whole subtree it repeats, and the count, the nesting depth (through
aliases too) and recursion are checked as each event arrives. The tree is then
built into plain data with a map from field path to line, resolving YAML merge
keys (``<<: *defaults``) as YAML 1.1 defines them: the mapping's own keys win,
then the merged mappings in order. A merged field is located where its value
is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from qorch.engine.limits import MAX_PLAN_DEPTH, MAX_PLAN_VALUES

PathKey = tuple[str | int, ...]
Node = Any  # Scalar | Seq | Map | Ref

_CORE = "tag:yaml.org,2002:"
_MERGE = _CORE + "merge"
_STR = _CORE + "str"
_SCALAR_TAGS = {_CORE + name for name in ("null", "bool", "int", "float", "str", "binary",
                                           "timestamp")}  # fmt: skip
_COLLECTION_TAGS = {None, "!", _CORE + "map", _CORE + "seq"}
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~25× faster
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()


class YamlProblem(Exception):
    """A located problem in the plan's YAML: line, field path, message."""

    def __init__(self, line: int, path: PathKey, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.path = path
        self.message = message


@dataclass(eq=False, slots=True)
class Scalar:
    tag: str
    value: str
    style: str | None
    line: int
    size: int = 1
    height: int = 0


@dataclass(eq=False, slots=True)
class Seq:
    tag: str | None
    line: int
    items: list[Node] = field(default_factory=list)
    size: int = 1
    height: int = 1


@dataclass(eq=False, slots=True)
class Map:
    tag: str | None
    line: int
    pairs: list[tuple[Node, Node]] = field(default_factory=list)
    size: int = 1
    height: int = 1


@dataclass(eq=False, slots=True)
class Ref:
    """A use of an alias (``*name``) at ``line``."""

    target: Scalar | Seq | Map
    line: int

    @property
    def size(self) -> int:
        return self.target.size

    @property
    def height(self) -> int:
        return self.target.height


@dataclass(eq=False, slots=True)
class _Frame:
    node: Seq | Map
    path: PathKey
    start_count: int
    anchor: str | None
    key: Node | None = None


def load(text: str) -> tuple[Any, dict[PathKey, int]] | None:
    """Plain data and the line of every field path; None for an empty file.

    Raises YamlProblem (limits, aliases, keys, tags, merges) and yaml.YAMLError
    (syntax, from the parser).
    """
    root = _Composer().compose(text)
    if root is None:
        return None
    lines: dict[PathKey, int] = {}
    return _build(root, (), lines), lines


class _Composer:
    """Events → tree, with counting; see the module docstring."""

    def __init__(self) -> None:
        self.stack: list[_Frame] = []
        self.anchors: dict[str, Scalar | Seq | Map] = {}
        self.open_anchors: dict[str, int] = {}
        self.count = 0
        self.documents = 0
        self.root: Node | None = None

    def compose(self, text: str) -> Node | None:
        event: Any
        for event in yaml.parse(text, Loader=_LOADER):
            line = event.start_mark.line + 1
            kind = type(event)
            if kind is yaml.ScalarEvent:
                self._scalar(event, line)
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                self._start(event, line, kind is yaml.MappingStartEvent)
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                self._end()
            elif kind is yaml.AliasEvent:
                self._alias(event.anchor, line)
            elif kind is yaml.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    raise YamlProblem(
                        line, (), "a plan file holds one YAML document; another starts here"
                    )
        return self.root

    def _path(self) -> PathKey:
        """The field path of the value the next event makes (for messages)."""
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.node, Seq):
            return (*frame.path, len(frame.node.items))
        if frame.key is None:
            return frame.path
        key = frame.key.target if isinstance(frame.key, Ref) else frame.key
        return (*frame.path, key.value if isinstance(key, Scalar) else "?")

    def _counted(self, amount: int, line: int) -> None:
        self.count += amount
        if self.count > MAX_PLAN_VALUES:
            raise YamlProblem(
                line,
                self._path()[:1],
                f"the plan has more than {MAX_PLAN_VALUES} values (after expanding YAML "
                "aliases); is it an alias bomb?",
            )

    def _deep(self, levels: int, line: int) -> None:
        if levels > MAX_PLAN_DEPTH:
            raise YamlProblem(
                line,
                self._path()[:1],
                f"lists and mappings nested deeper than {MAX_PLAN_DEPTH} levels",
            )

    def _scalar(self, event: Any, line: int) -> None:
        tag = event.tag
        if tag is None or tag == "!":
            plain = event.implicit[0]
            tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit) if plain else _STR
        self._counted(1, line)
        node = Scalar(tag, event.value, event.style, line)
        if event.anchor is not None:
            self.anchors[event.anchor] = node
        self._add(node)

    def _start(self, event: Any, line: int, mapping: bool) -> None:
        self._deep(len(self.stack) + 1, line)
        path = self._path()
        start = self.count
        self._counted(1, line)
        node: Seq | Map = Map(event.tag, line) if mapping else Seq(event.tag, line)
        if event.anchor is not None:
            self.open_anchors[event.anchor] = self.open_anchors.get(event.anchor, 0) + 1
        self.stack.append(_Frame(node, path, start, event.anchor))

    def _end(self) -> None:
        frame = self.stack.pop()
        node = frame.node
        node.size = self.count - frame.start_count
        children = node.items if isinstance(node, Seq) else [v for pair in node.pairs for v in pair]
        node.height = 1 + max((child.height for child in children), default=0)
        if frame.anchor is not None:
            self.open_anchors[frame.anchor] -= 1
            if not self.open_anchors[frame.anchor]:
                del self.open_anchors[frame.anchor]
            self.anchors[frame.anchor] = node
        self._add(node)

    def _alias(self, anchor: str, line: int) -> None:
        if anchor in self.open_anchors:
            raise YamlProblem(
                line,
                self._path(),
                f"alias *{anchor} refers to a node that contains it (recursive YAML is "
                "not allowed in a plan)",
            )
        target = self.anchors.get(anchor)
        if target is None:
            raise YamlProblem(line, self._path(), f"undefined YAML alias *{anchor}")
        self._deep(len(self.stack) + target.height, line)
        self._counted(target.size, line)
        self._add(Ref(target, line))

    def _add(self, node: Node) -> None:
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        if isinstance(frame.node, Seq):
            frame.node.items.append(node)
        elif frame.key is None:
            frame.key = node
        else:
            frame.node.pairs.append((frame.key, node))
            frame.key = None


def _build(node: Node, path: PathKey, lines: dict[PathKey, int]) -> Any:
    lines.setdefault(path, node.line)
    if isinstance(node, Ref):
        node = node.target
    if isinstance(node, Scalar):
        return _construct(node, path)
    if node.tag not in _COLLECTION_TAGS:
        raise YamlProblem(node.line, path, f"YAML tag {_shown(node.tag)} is not allowed in a plan")
    if isinstance(node, Seq):
        return [_build(item, (*path, index), lines) for index, item in enumerate(node.items)]
    out: dict[Any, Any] = {}
    for key, line, value in _entries(node, path):
        sub = (*path, str(key))
        lines[sub] = line
        out[key] = _build(value, sub, lines)
    return out


def _entries(node: Map, path: PathKey) -> list[tuple[Any, int, Node]]:
    """The mapping's (key, key line, value node) with merge keys resolved."""
    if node.tag not in _COLLECTION_TAGS:
        raise YamlProblem(node.line, path, f"YAML tag {_shown(node.tag)} is not allowed in a plan")
    entries: list[tuple[Any, int, Node]] = []
    seen: set[Any] = set()
    merges: list[tuple[int, Node]] = []
    for key_node, value_node in node.pairs:
        key = key_node.target if isinstance(key_node, Ref) else key_node
        if isinstance(key, Scalar) and key.tag == _MERGE:
            merges.append((key_node.line, value_node))
            continue
        if not isinstance(key, Scalar):
            raise YamlProblem(
                key_node.line,
                path,
                "a complex mapping key (a list or mapping as a key, '? …') is not allowed; "
                "keys must be plain names",
            )
        value = _construct(key, path)
        if value in seen:
            raise YamlProblem(key_node.line, (*path, str(value)), "duplicate key")
        seen.add(value)
        entries.append((value, key_node.line, value_node))
    for line, value_node in merges:
        for source in _merge_sources(value_node, line, path):
            for key, key_line, value in _entries(source, path):
                if key not in seen:
                    seen.add(key)
                    entries.append((key, key_line, value))
    return entries


def _merge_sources(value: Node, line: int, path: PathKey) -> list[Map]:
    """The mappings a merge key merges, in order of precedence."""
    target = value.target if isinstance(value, Ref) else value
    items = target.items if isinstance(target, Seq) else [target]
    sources = [item.target if isinstance(item, Ref) else item for item in items]
    maps = [source for source in sources if isinstance(source, Map)]
    if not maps or len(maps) != len(sources):
        raise YamlProblem(
            line, (*path, "<<"), "a merge key (<<) takes a mapping or a list of mappings"
        )
    return maps


def _construct(node: Scalar, path: PathKey) -> Any:
    if node.tag not in _SCALAR_TAGS:
        raise YamlProblem(node.line, path, f"YAML tag {_shown(node.tag)} is not allowed in a plan")
    if node.tag == _STR:
        return node.value
    constructor = SafeConstructor.yaml_constructors[node.tag]
    try:
        return constructor(_CONSTRUCTOR, yaml.ScalarNode(node.tag, node.value, style=node.style))
    except Exception as error:  # a bad scalar: int('x'), a 13th month, KeyError on !!bool x
        reason = getattr(error, "problem", None) or str(error).split(";")[0]
        shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        what = _shown(node.tag)
        message = f"cannot read {shown!r} as {what}: {reason[:1].lower()}{reason[1:]}"
        raise YamlProblem(node.line, path, message) from None


def _shown(tag: str | None) -> str:
    text = str(tag)
    return "!!" + text[len(_CORE) :] if text.startswith(_CORE) else text
