"""Values a register's reader could take for something else, refused with their line.

**YAML 1.1 surprises**: plain scalars PyYAML reads as something their writer did not
mean.

PyYAML implements YAML 1.1, whose implicit types differ from YAML 1.2's and from what
people expect of a config file:

* ``p95: 1:30`` is the base-60 number 90, and ``1:30.5`` is 90.5;
* ``mode: 0755`` is the octal number 493; ``0b101`` is 5;
* ``yes``, ``no``, ``on``, ``off`` (any case) are booleans, so ``output_types: [no]`` is
  ``[False]`` and a person called ``on`` is ``True``.

A register is a signed-off document: a limit must be the number its owner wrote. The
loader reports each of these as a problem with its line (quote the value to mean text,
or write the number in decimal), except yes/no/on/off where the setting is a boolean
(``allow_as: yes`` means what it says).

**Ambiguous model ids**: logs name models by exact id, so two ids that differ only by
case or surrounding whitespace are one model to every person reading a log or report,
and a padded id matches no log that names the model plainly.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel

from thresholds.errors import Problem

__all__ = [
    "boolean_problems",
    "boolean_word",
    "expects_boolean",
    "id_problem",
    "number_surprise",
    "without_echoes",
]

#: A path in the document: mapping keys and list positions.
Path_ = tuple[str | int, ...]

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"

_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_OCTAL = re.compile(r"^[-+]?0[0-7_]+$")
_BINARY = re.compile(r"^[-+]?0b[0-1_]+$")
#: YAML 1.2's core schema keeps only these spellings as booleans.
_CORE_BOOLEANS = {"true", "True", "TRUE", "false", "False", "FALSE"}


def number_surprise(node: yaml.ScalarNode, value: Any) -> str | None:
    """Why a plain scalar PyYAML read as a number is not the number its text shows."""
    if node.style is not None or node.tag not in (_INT, _FLOAT):
        return None
    text = node.value
    if _SEXAGESIMAL.match(text):
        return (
            f"{text!r} is read as {value} (YAML 1.1 base-60 numbers); write {value} if "
            f'that is meant, or quote it ("{text}") for the text'
        )
    if _OCTAL.match(text) and text.lstrip("+-") not in ("0",):
        return (
            f"{text!r} is read as {value} (YAML 1.1 octal, leading zero); write "
            f"{text.lstrip('+-').lstrip('0') or '0'} for the decimal number, or quote it"
        )
    if _BINARY.match(text):
        return f"{text!r} is read as {value} (YAML 1.1 binary); write {value}, or quote it"
    return None


def boolean_word(node: yaml.ScalarNode) -> bool:
    """True for a plain ``yes``/``no``/``on``/``off`` that PyYAML read as a boolean."""
    return node.style is None and node.tag == _BOOL and node.value not in _CORE_BOOLEANS


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def expects_boolean(model: type[BaseModel], path: tuple[str | int, ...]) -> bool | None:
    """Whether the setting at ``path`` below ``model`` takes a boolean; ``None`` when the
    path names no setting (an unknown key, reported on its own)."""
    current: list[Any] = [model]
    for part in path:
        following: list[Any] = []
        for kind in current:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                field = kind.model_fields.get(str(part))
                if field is not None:
                    following += _members(field.annotation)
            elif typing.get_origin(kind) in (list, dict, tuple):
                following += _members(typing.get_args(kind)[-1])
        if not following:
            return None
        current = following
    return any(kind is bool for kind in current)


def id_problem(model_id: str, first_seen: Mapping[str, int]) -> str | None:
    """Why a model id cannot be told apart from one seen before (``first_seen``: id →
    position), or from what logs will say; ``None`` when it can."""
    if model_id in first_seen:
        return f"duplicate model id {model_id!r} (also models[{first_seen[model_id]}])"
    if model_id != model_id.strip():
        return (
            f"model id {model_id!r} has surrounding whitespace: logs naming "
            f"{model_id.strip()!r} would not match it; remove the spaces"
        )
    folded = model_id.casefold()
    for other, at in first_seen.items():
        if other.strip().casefold() == folded:
            return (
                f"model id {model_id!r} differs from {other!r} (models[{at}]) only by case "
                "or surrounding whitespace: ambiguous in logs and reports; rename one"
            )
    return None


def boolean_problems(
    words: Mapping[Path_, tuple[int, str, bool]],
    source: str,
    *,
    register: type[BaseModel],
    model: type[BaseModel],
    defaults: type[BaseModel],
) -> list[Problem]:
    """yes/no/on/off read as booleans (``words``: path → line, text, value) where the
    setting is not a boolean. ``register``, ``model`` and ``defaults`` are the schemas of
    the document, of each ``models[i]`` and of ``defaults``."""
    problems = []
    for path, (line, text, value) in sorted(words.items(), key=lambda item: item[1][0]):
        root, rest = register, path
        if path[:1] == ("models",) and len(path) > 1:
            root, rest = model, path[2:]
        elif path[:1] == ("defaults",):
            root, rest = defaults, path[1:]
        if expects_boolean(root, rest) is False:
            word = "true" if value else "false"
            problems.append(
                Problem(
                    source,
                    line,
                    dotted(path),
                    f"{text!r} is read as the boolean {word} (YAML 1.1), but this setting is "
                    f'not a yes/no one; quote it ("{text}") if it is text',
                )
            )
    return problems


def without_echoes(problems: list[Problem]) -> list[Problem]:
    """A value refused for its YAML 1.1 reading is not reported again by the schema
    ("Input should be a valid string (got 90)"): the YAML problem says what to do."""
    yaml_fields = {p.field for p in problems if "(YAML 1.1" in p.reason}
    return [p for p in problems if p.field not in yaml_fields or "(YAML 1.1" in p.reason]


def dotted(path: Path_) -> str:
    """``models[0].thresholds.p95``: a path as the loader's problems name it."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(document)"
