"""Dotted parameter paths: ``funder.budget_per_month``, ``providers.0.count``.

Every layer names a parameter the same way: the scenario schema when it applies an override
or reports a validation error, ``--set`` and ``--vary`` on the command line, the dashboard's
sliders (which Mesa passes as keywords, hence the ``funder__budget_per_month`` spelling),
and calibration's fitted parameters. This module is the one place that parses such a path,
reads and writes the value it names and finds the schema field behind it, so the rules
(integers index lists, unknown names are errors, omitted sections fall back to the schema)
cannot drift apart between those users.

It knows nothing of the scenario schema itself: the root model class is an argument, and
field lookups are cached per class and path because the dashboard and experiment
specifications look the same few fields up many times.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.errors import ScenarioError

KEYWORD_SEPARATOR = "__"  # Python keywords cannot hold dots: funder__budget_per_month


def split(path: str) -> list[str | int]:
    """``"providers.0.count"`` -> ``["providers", 0, "count"]`` (digits index lists)."""
    if not path or any(not part for part in path.split(".")):
        raise ScenarioError(f"{path!r}: not a dotted parameter path (e.g. funder.budget_per_month)")
    return [int(part) if part.isdigit() else part for part in path.split(".")]


def from_keyword(name: str) -> str:
    """A keyword spelling (``funder__budget_per_month``) as a dotted path."""
    return name.replace(KEYWORD_SEPARATOR, ".")


def to_keyword(path: str) -> str:
    """A dotted path spelled as a Python keyword (for Mesa's model parameters and pyabc)."""
    return path.replace(".", KEYWORD_SEPARATOR)


def get(node: Any, path: str) -> Any:
    """The value at ``path`` in a pydantic model, a raw dictionary or a mix of both."""
    for part in split(path):
        node = _child(node, part, path)
    return node


def _child(node: Any, part: str | int, path: str) -> Any:
    if isinstance(node, list):
        if not isinstance(part, int) or part >= len(node):
            raise ScenarioError(f"{path}: index {part} out of range (0 to {len(node) - 1})")
        return node[part]
    if isinstance(node, BaseModel) and isinstance(part, str) and part in type(node).model_fields:
        return getattr(node, part)
    if isinstance(node, dict) and part in node:
        return node[part]
    raise ScenarioError(f"{path}: unknown parameter (see `tasim scenarios show baseline`)")


def assign(data: dict[str, Any], path: str, value: Any, schema: type[BaseModel]) -> None:
    """Set ``path`` in a raw scenario dictionary (in place).

    A section the dictionary omits is filled with the schema's default when ``schema``
    declares it (a TOML file need not spell out defaults, and ``providers.0.count`` then
    changes the default provider group); any other unknown name, or an index past a list's
    end, is an error, so a typo never silently adds a parameter. A path naming a section
    (``funder``, ``providers.0``) takes only a table that gives every parameter of it: any
    other value is not a section, and a partial table would silently reset the parameters it
    leaves out to their defaults. A whole list of sections (``providers``) may be replaced:
    that is how an event adds provider groups.
    """
    parts = split(path)
    if section := _section(schema, path):
        _check_complete(section, value, path)
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            _child(node, part, path)  # the index must exist
        elif not isinstance(node, dict):
            raise ScenarioError(f"{path}: {_join(parts[:depth])} is a value, not a section")
        elif part not in node:
            info = field(schema, _join(parts[: depth + 1]))
            if info is None:
                raise ScenarioError(
                    f"{path}: unknown parameter (see `tasim scenarios show baseline`)"
                )
            if not last:
                node[part] = _raw_default(info)
        if last:
            node[part] = value
        else:
            node = node[part]


def _section(schema: type[BaseModel], path: str) -> type[BaseModel] | None:
    """The section model ``path`` names (``funder``, ``providers.0``), None for anything else."""
    info = field(schema, path)
    if info is None:
        return None
    if isinstance(split(path)[-1], int):  # an item of a list: a section if the list holds them
        return _list_item(info.annotation)
    model = info.annotation
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _check_complete(section: type[BaseModel], value: Any, path: str) -> None:
    """Refuse a value for a section unless it is a table giving every parameter (nested too)."""
    if not isinstance(value, dict):
        raise ScenarioError(
            f"{path}: a section, not a single parameter; set its parameters one at a time "
            f"(e.g. {path}.{next(iter(section.model_fields))})"
        )
    for name, info in section.model_fields.items():
        if name not in value:
            raise ScenarioError(
                f"{path}: a table for a section must give all of its parameters, or it resets "
                f"the others to their defaults (missing {path}.{name}); set them one at a time"
            )
        inner = info.annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            _check_complete(inner, value[name], f"{path}.{name}")


def _join(parts: list[str | int]) -> str:
    return ".".join(map(str, parts))


def _raw_default(info: FieldInfo) -> Any:
    """A field's default as raw data (what a TOML file spelling it out would hold)."""
    default = info.get_default(call_default_factory=True)
    if isinstance(default, BaseModel):
        return default.model_dump()
    if isinstance(default, list):
        return [item.model_dump() if isinstance(item, BaseModel) else item for item in default]
    return {} if default is None else default


@cache
def field(schema: type[BaseModel], path: str) -> FieldInfo | None:
    """The schema field a path names, or None if there is none.

    An index into a list of sections moves on to the section's fields; an index into a list
    of values (``mechanisms.readiness_weights.0``) names the item, with the item's bounds.
    """
    model: Any = schema
    info = None
    for part in split(path):
        if isinstance(part, int):
            if info is None or typing.get_origin(info.annotation) is not list:
                return None
            (item,) = typing.get_args(info.annotation)
            if _list_item(info.annotation) is None:
                info = FieldInfo.from_annotation(item)
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        info = fields[part]
        model = _list_item(info.annotation) or info.annotation
    return info


def _list_item(annotation: Any) -> type[BaseModel] | None:
    """``list[ProviderGroup]`` -> ``ProviderGroup``; None for any other annotation."""
    if typing.get_origin(annotation) is not list:
        return None
    (item,) = typing.get_args(annotation)
    return item if isinstance(item, type) and issubclass(item, BaseModel) else None


def bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    """A field's declared ``ge``/``le`` bounds, None where it has none."""
    low = high = None
    for item in info.metadata:
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    return low, high


class ParameterInfo(BaseModel):
    """One leaf parameter: what ``tasim scenarios show`` prints and a sensitivity ranges over."""

    path: str
    value: Any
    low: float | None
    high: float | None
    unit: str
    meaning: str
    source: str

    @property
    def range_text(self) -> str:
        return "" if self.low is None else f"[{self.low:g}, {self.high:g}]"


def _describe(path: str, value: Any, info: FieldInfo) -> ParameterInfo:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    low, high = bounds(info)
    return ParameterInfo(
        path=path,
        value=value,
        low=low,
        high=high,
        unit=str(extra.get("unit", "")),
        meaning=info.description or "",
        source=str(extra.get("source", "")),
    )


def _is_sections(value: Any) -> bool:
    """A list of sections (provider groups, events), walked into rather than a leaf."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], BaseModel)


def parameter_table(model: BaseModel) -> list[ParameterInfo]:
    """Every leaf parameter of a validated model with its value, range, unit, meaning, source."""
    rows: list[ParameterInfo] = []

    def walk(node: BaseModel, prefix: str) -> None:
        for name, info in type(node).model_fields.items():
            value = getattr(node, name)
            path = f"{prefix}{name}"
            if isinstance(value, BaseModel):
                walk(value, path + ".")
            elif _is_sections(value):
                for index, item in enumerate(value):
                    walk(item, f"{path}.{index}.")
            else:
                rows.append(_describe(path, value, info))

    walk(model, "")
    return rows


def parameter_info(model: BaseModel, path: str) -> ParameterInfo:
    """Metadata and value of one leaf parameter; a ScenarioError names a path that is not one."""
    value = get(model, path)
    info = field(type(model), path)
    if info is None or isinstance(value, BaseModel) or _is_sections(value):
        raise ScenarioError(f"{path}: not a single parameter (see `tasim scenarios show baseline`)")
    return _describe(path, value, info)
