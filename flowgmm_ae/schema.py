"""The schema of a run's options: every :class:`~flowgmm_ae.config.TrainConfig` field declares its
help text, group, range, choices and whether it defines an experiment cell.

The command line's options (:mod:`flowgmm_ae.cli_options`), ``ablate --grid`` and the identity of a
finished grid cell (:mod:`flowgmm_ae.ablation`) are all derived from it, so a new field declared
with :func:`setting` appears in all three with no other edit.

    @dataclass
    class TrainConfig:
        lr: float = setting(1e-3, "Adam's learning rate.", "optimisation", low=0, low_open=True)
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# The sections of ``flowgmm-ae train --help``, in this order.
GROUPS = ("data", "protocol", "model", "prior and pool", "optimisation", "scoring", "run")
# Fields of this group matter only to a method with a latent prior (AE-FLOW): a baseline's cell
# does not depend on them.
PRIOR_GROUP = "prior and pool"


@dataclass(frozen=True)
class Setting:
    """What the schema says of one field besides its type and default.

    ``choices`` is a tuple or a function returning the registered names (read when the command
    runs, so that plug-ins are offered); ``low`` / ``high`` bound numbers (open ends with
    ``low_open`` / ``high_open``). ``kind`` names a reading the type alone does not give
    (``"dataset"``, ``"beta"``, ``"path"``, ``"file"``, ``"dir"``; ``"prior_number"``: a number within
    the bounds or ``"prior"``, the prior's default). ``flag`` renames the command-line
    option (``"--no-augment"`` sets a default-True field to False) and ``aliases`` adds names.
    ``cell``: the field changes what a run computes, so a grid cell is identified by it (False for
    where it runs, where it writes, how it reports). ``cli``: False for a field derived by the
    command line itself. ``prior_only``: the field matters only to a method with a latent prior
    (AE-FLOW), so a baseline's cell does not depend on it (implied by the prior-and-pool group)."""

    help: str
    group: str
    cell: bool = True
    choices: tuple[str, ...] | Callable[[], Sequence[str]] | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    kind: str = ""
    flag: str | None = None
    aliases: tuple[str, ...] = ()
    cli: bool = True
    prior_only: bool = False

    @property
    def for_prior_methods_only(self) -> bool:
        """Whether only a method with a latent prior reads this field."""
        return self.prior_only or self.group == PRIOR_GROUP

    def choice_names(self) -> tuple[str, ...] | None:
        """The allowed values now (a registry's names are read at each call)."""
        if self.choices is None:
            return None
        return tuple(self.choices() if callable(self.choices) else self.choices)


def setting(default: Any, help: str, group: str, **declared: Any) -> Any:
    """A dataclass field with its :class:`Setting`: ``x: float = setting(0.5, "What x is.", "model")``."""
    if group not in GROUPS:
        raise ValueError(f"unknown option group {group!r}; choose from {', '.join(GROUPS)}")
    return dataclasses.field(default=default, metadata={"setting": Setting(help, group, **declared)})


@dataclass(frozen=True)
class Declared:
    """One field of a schema: its name, resolved type, default and :class:`Setting`."""

    name: str
    type: Any
    default: Any
    setting: Setting

    @property
    def base_type(self) -> Any:
        """The type without ``| None`` (``int | None`` -> ``int``; ``list[str] | None`` -> ``list[str]``)."""
        if typing.get_origin(self.type) not in (typing.Union, types.UnionType):
            return self.type
        args = [a for a in typing.get_args(self.type) if a is not type(None)]
        return args[0] if len(args) == 1 else self.type

    @property
    def optional(self) -> bool:
        return type(None) in typing.get_args(self.type)


def declared_fields(config_cls: type) -> list[Declared]:
    """Every field of ``config_cls`` in declaration order; each must be declared with
    :func:`setting`."""
    hints = typing.get_type_hints(config_cls)
    found = []
    for field in dataclasses.fields(config_cls):
        declared = field.metadata.get("setting")
        if declared is None:
            raise TypeError(f"{config_cls.__name__}.{field.name} is not declared with schema.setting()")
        found.append(Declared(field.name, hints[field.name], field.default, declared))
    return found


def prior_only_fields(config_cls: type) -> set[str]:
    """The fields that only a method with a latent prior reads."""
    return {d.name for d in declared_fields(config_cls) if d.setting.for_prior_methods_only}


def cell_fields(config_cls: type) -> tuple[str, ...]:
    """The fields that identify an experiment cell."""
    return tuple(d.name for d in declared_fields(config_cls) if d.setting.cell)
