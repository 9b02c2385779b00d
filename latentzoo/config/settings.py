"""The machinery of every settings class: a field with its help text, bounds and default
(`setting`), checked by type, choices and bounds (`Settings.validate`), read strictly from JSON
(`Settings.from_dict`), and offered as command-line options (`Settings.options`).

A settings class is a keyword-only dataclass of `setting` fields. The field's default is the one
home of that default; a subclass that changes it says so with `redefault`, keeping the help. A
field's `group` names when it applies (a backbone, a quantizer, the user's own data): `groups()`
says which groups an instance uses, and `applicable()` gives just those fields.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, ClassVar, Self

from ..errors import ConfigError


def setting(
    help: str,
    *,
    default: Any = MISSING,
    choices: tuple[str, ...] | None = None,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
    cli: bool = True,
    group: str | None = None,
) -> Any:
    """A settings field: its default, help text, allowed choices or bounds, whether it is a
    command-line option, and the group it applies to (see `Settings.groups`)."""
    meta = dict(
        help=help,
        choices=choices,
        low=low,
        high=high,
        open_low=open_low,
        open_high=open_high,
        cli=cli,
        group=group,
    )
    return dataclasses.field(default=default, metadata=meta)


def redefault(cls: type, name: str, default: Any, **changes: Any) -> Any:
    """The field `name` of settings class `cls` with another default (and any metadata changed)."""
    f = next(f for f in fields(cls) if f.name == name)
    return dataclasses.field(default=default, metadata={**f.metadata, **changes})


TYPES = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "tuple[int,...]": tuple,
    "tuple[float,...]": tuple,
}


def field_type(f) -> tuple[type, bool]:
    """(the Python type of a settings field, whether None is allowed)."""
    name = str(f.type).replace(" ", "")
    optional = name.endswith("|None")
    return TYPES[name.removesuffix("|None")], optional


def check_value(f, v: Any, where: str = "") -> None:
    """A field's value against its type, choices and bounds; a one-line ConfigError otherwise."""
    kind, optional = field_type(f)
    m, name = f.metadata, where + f.name
    if v is None and optional:
        return
    if kind is tuple and "float" in str(f.type):
        finite = all(type(i) in (int, float) and math.isfinite(i) for i in v or ())
        if not (isinstance(v, tuple) and v and finite):
            raise ConfigError(f"{name} must be a list of finite numbers, got {v!r}")
        return
    if kind is tuple:
        if not (isinstance(v, tuple) and v and all(type(i) is int and i >= 1 for i in v)):
            raise ConfigError(f"{name} must be a list of whole numbers >= 1, got {v!r}")
        return
    ok_type = isinstance(v, kind) and not (kind is int and isinstance(v, bool))
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        ok_type = True
    if not ok_type:
        raise ConfigError(f"{name} must be {kind.__name__}, got {v!r}")
    if m["choices"] and v not in m["choices"]:
        raise ConfigError(f"unknown {name} '{v}' (choose {', '.join(m['choices'])})")
    if kind in (int, float):
        if not math.isfinite(v):
            raise ConfigError(f"{name} must be a finite number, got {v}")
        low, high = m["low"], m["high"]
        too_low = low is not None and (v <= low if m["open_low"] else v < low)
        too_high = high is not None and (v >= high if m["open_high"] else v > high)
        if too_low or too_high:
            raise ConfigError(f"{name} must be {bound_text(f)}, got {v}")


def bound_text(f) -> str:
    """A field's bounds in words: 'at least 1', 'positive', 'in [0, 1)'."""
    m = f.metadata
    low, high = m["low"], m["high"]

    def show(v):
        return f"{v:,}" if float(v).is_integer() else f"{v:g}"

    if high is None:
        if m["open_low"]:
            return "positive" if low == 0 else f"above {show(low)}"
        return f"at least {show(low)}"
    left, right = "(" if m["open_low"] else "[", ")" if m["open_high"] else "]"
    return f"in {left}{show(low)}, {show(high)}{right}"


def shown(v: Any) -> str:
    """A setting's value in words, for help texts and tables: 'none', 'on', '0.001', '1,28,28'."""
    if v is None or isinstance(v, bool):
        return {None: "none", True: "on", False: "off"}[v]
    if isinstance(v, tuple):
        return ",".join(map(str, v))
    return f"{v:g}" if isinstance(v, float) else str(v) or "none"


@dataclass(kw_only=True)
class Settings:
    """Base of every settings class: validation, JSON and the fields that apply."""

    section: ClassVar[str] = "settings"  # the name in messages and in config.json

    def validate(self) -> None:
        """Every field against its type, choices and bounds, then `check`'s rules across fields."""
        for f in fields(self):
            check_value(f, getattr(self, f.name))
        self.check()

    def check(self) -> None:
        """Rules that tie fields together (a ConfigError names the first broken one)."""

    def groups(self) -> set[str]:
        """The groups of fields that mean something for these values (besides group None)."""
        return set()

    def applicable(self) -> dict[str, Any]:
        """The fields that mean something for these values, name -> value."""
        used = self.groups()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.metadata["group"] is None or f.metadata["group"] in used
        }

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Any, *, complete: bool = True) -> Self:
        """Settings from JSON: every key known, and with `complete`, every field given."""
        if not isinstance(d, dict):
            raise ConfigError(
                f"{cls.section} settings must be a JSON object, got {type(d).__name__}"
            )
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        missing = sorted(set(known) - set(d)) if complete else []
        if unknown:
            raise ConfigError(f"unknown {cls.section} keys: {', '.join(unknown)}")
        if missing:
            raise ConfigError(f"{cls.section} keys missing: {', '.join(missing)}")
        values = {
            k: tuple(v) if field_type(known[k])[0] is tuple and isinstance(v, list) else v
            for k, v in d.items()
        }
        obj = cls(**values)
        obj.validate()
        return obj

    @classmethod
    def options(cls) -> list:
        """The fields that a command takes as options."""
        return [f for f in fields(cls) if f.metadata["cli"]]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every field's default (fields without one are left out)."""
        return {f.name: f.default for f in fields(cls) if f.default is not MISSING}
