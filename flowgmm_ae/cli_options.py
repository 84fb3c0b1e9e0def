"""The schema of :class:`~flowgmm_ae.config.TrainConfig` as click options: ``flowgmm-ae train``'s
options, ``ablate``'s base options and the values of ``ablate --grid`` are generated from the field
declarations (:mod:`flowgmm_ae.schema`), never written by hand.

    @click.command(cls=GroupedCommand)
    @schema_options(TrainConfig)
    def train(**fields): ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from flowgmm_ae.data import DATASETS, FOLDER_PREFIX, is_known_dataset
from flowgmm_ae.schema import GROUPS, Declared, Setting, declared_fields


class RegistryChoice(click.Choice):
    """A choice among names read when the command runs, so that a method or prior registered after
    this module was imported (a plug-in, a test) is offered too."""

    def __init__(self, names: Callable[[], Sequence[str]]) -> None:
        self._names = names
        super().__init__(self.choices)

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self._names())

    @choices.setter
    def choices(self, value) -> None:  # click's __init__ assigns it; the registry stays the source
        pass


class BetaType(click.ParamType):
    """A number in [0, 1] or one of the words ``auto`` and ``prior``."""

    name = "beta"

    def get_metavar(self, param, ctx=None) -> str:
        return "[0-1|auto|prior]"

    def convert(self, value, param, ctx):
        if value in ("auto", "prior") or isinstance(value, float):
            return value
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{value!r} is neither a number in [0, 1] nor 'auto' or 'prior'", param, ctx)
        if not 0.0 <= number <= 1.0:
            self.fail(f"{number} is not in [0, 1]", param, ctx)
        return number


class PriorNumberType(click.ParamType):
    """A number within a field's bounds, or the word ``prior`` (the prior's default)."""

    name = "prior_number"

    def __init__(self, declared: Setting) -> None:
        self.declared = declared

    def get_metavar(self, param, ctx=None) -> str:
        return f"[{self.declared.low:g}-{self.declared.high:g}|prior]"

    def convert(self, value, param, ctx):
        if value == "prior":
            return value
        return _float_range(self.declared).convert(value, param, ctx)


class DatasetType(click.ParamType):
    """A known data set name or ``folder:PATH``."""

    name = "dataset"

    def get_metavar(self, param, ctx=None) -> str:
        return "[" + "|".join(DATASETS) + f"|{FOLDER_PREFIX}PATH]"

    def convert(self, value, param, ctx):
        if is_known_dataset(value):
            return value
        self.fail(f"{value!r} is not one of {', '.join(DATASETS)}, nor {FOLDER_PREFIX}PATH", param, ctx)


BETA, DATASET = BetaType(), DatasetType()
_PATHS = {
    "path": click.Path(file_okay=True, dir_okay=True),
    "file": click.Path(exists=True, dir_okay=False),
    "dir": click.Path(file_okay=False),
}


class GroupedCommand(click.Command):
    """A command whose ``--help`` lists the schema's options in their groups (data, protocol, …),
    then the command's own."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                sections.setdefault(getattr(param, "schema_group", ""), []).append(record)
        for group in sorted(sections, key=lambda g: GROUPS.index(g) if g in GROUPS else len(GROUPS)):
            with formatter.section(f"{group.capitalize()} options" if group else "Options"):
                formatter.write_dl(sections[group])


def param_type(field: Declared) -> click.ParamType:
    """The click type that reads ``field`` from text (bounds and choices included)."""
    declared, base = field.setting, field.base_type
    if declared.kind == "dataset":
        return DATASET
    if declared.kind == "beta":
        return BETA
    if declared.kind in _PATHS:
        return _PATHS[declared.kind]
    if declared.kind == "prior_number":
        return PriorNumberType(declared)
    if declared.choices is not None:
        return RegistryChoice(declared.choice_names)
    if base is float:
        return _float_range(declared)
    if base is int:
        bounded = declared.low is not None or declared.high is not None
        return click.IntRange(declared.low, declared.high) if bounded else click.INT
    if base is bool:
        return click.BOOL
    return click.STRING


def _float_range(declared: Setting) -> click.ParamType:
    """A float field's type: a click range where it is bounded."""
    if declared.low is None and declared.high is None:
        return click.FLOAT
    return click.FloatRange(
        declared.low, declared.high, min_open=declared.low_open, max_open=declared.high_open
    )


def _is_list(field: Declared) -> bool:
    return getattr(field.base_type, "__origin__", None) is list


def _comma_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    return None if value is None else [item.strip() for item in value.split(",") if item.strip()]


class SchemaOption(click.Option):
    """An option generated from a schema field; remembers the field's group for ``--help``."""

    def __init__(self, *args: Any, schema_group: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema_group = schema_group


def click_option(field: Declared) -> Callable[[Callable], Callable]:
    """One field as a click option decorator: ``--field-name`` (or the declared ``flag``)."""
    declared = field.setting
    names = [declared.flag or "--" + field.name.replace("_", "-"), *declared.aliases, field.name]
    common = dict(cls=SchemaOption, schema_group=declared.group, help=declared.help)
    if field.base_type is bool:
        # A default-False field is switched on by its flag; a default-True one off by its (--no-…) flag.
        flag = dict(is_flag=True, flag_value=not field.default, default=field.default)
        return click.option(*names, **flag, **common)
    if _is_list(field):
        return click.option(*names, default=None, metavar="A,B", callback=_comma_list, **common)
    shown = field.default is not None
    return click.option(*names, type=param_type(field), default=field.default, show_default=shown, **common)


def schema_options(
    config_cls: type, exclude: Sequence[str] = (), only: Sequence[str] | None = None
) -> Callable[[Callable], Callable]:
    """Decorator: every command-line field of ``config_cls`` (those in ``only`` if given, but never
    those in ``exclude``) as an option."""

    def decorate(command: Callable) -> Callable:
        for field in reversed(declared_fields(config_cls)):
            wanted = only is None or field.name in only
            if field.setting.cli and wanted and field.name not in exclude:
                command = click_option(field)(command)
        return command

    return decorate


def parse_value(field: Declared, text: str) -> Any:
    """One value of ``field`` from text, checked as its command-line option checks it (``none``
    for an optional field's None; a list field's items separated by ``+``)."""
    if field.optional and text.lower() == "none":
        return None
    if _is_list(field):
        return [item for item in text.split("+") if item]
    return param_type(field).convert(text, None, None)


def parse_grid(items: Sequence[str], config_cls: type) -> dict[str, list[Any]]:
    """``--grid FIELD=V1,V2`` items as {field: values}, each value read and checked as the field's
    command-line option reads it."""
    fields = {field.name: field for field in declared_fields(config_cls)}
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, _, values = item.partition("=")
        name = name.strip().lstrip("-").replace("-", "_")
        if name not in fields or not values:
            raise click.BadParameter(
                f"{item!r} is not FIELD=V1,V2 with a TrainConfig field", param_hint="--grid"
            )
        if not fields[name].setting.cell:
            raise click.BadParameter(
                f"{name} does not define a cell (it changes where or how a run runs, not what it computes)",
                param_hint="--grid",
            )
        try:
            grid[name] = [parse_value(fields[name], value.strip()) for value in values.split(",")]
        except click.BadParameter as error:
            raise click.BadParameter(f"{name}: {error.message}", param_hint="--grid") from None
    return grid
