"""Check a `dagger call` command line against the module's real functions, without an engine.

The functions are read from the `Dev8` class (methods decorated with dagger's @function, its
dataclass fields as the constructor's options), and a chain continues on the core type a function
returns (`build-all export --path reports` is `Directory.export(path=...)` of the Python SDK), so
the names and the flags come from the code, never from a list kept here.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any

from dagger.client.base import Type as DaggerType

from pipeline.main import Dev8

FUNCTION_MARK = "__dagger_function__"


def kebab(name: str) -> str:
    return name.replace("_", "-")


def module_functions() -> dict[str, Callable[..., Any]]:
    """The module's functions by their CLI name (build_all -> build-all)."""
    found = inspect.getmembers(Dev8, lambda member: hasattr(member, FUNCTION_MARK))
    return {kebab(name): member for name, member in found}


@dataclasses.dataclass(frozen=True)
class Params:
    """A callable's options as CLI flags: name -> (is a boolean, is required)."""

    flags: dict[str, tuple[bool, bool]]

    @classmethod
    def of_constructor(cls) -> Params:
        hints = typing.get_type_hints(Dev8)
        return cls({kebab(f.name): (hints[f.name] is bool, False) for f in dataclasses.fields(Dev8) if f.init})

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> Params:
        hints = typing.get_type_hints(fn)
        flags: dict[str, tuple[bool, bool]] = {}
        for name, param in inspect.signature(fn).parameters.items():
            if name == "self":
                continue
            is_bool = hints.get(name) in (bool, bool | None)
            flags[kebab(name)] = (is_bool, param.default is inspect.Parameter.empty)
        return cls(flags)


def returned(fn: Callable[..., Any]) -> Any:
    return typing.get_type_hints(fn).get("return")


def check_call(args: list[str]) -> list[str]:
    """Problems with the arguments after `dagger call`; empty when the module accepts them."""
    problems: list[str] = []
    position = consume_flags(args, 0, Params.of_constructor(), "the module's constructor", problems)
    if position == len(args):
        return [*problems, "no function called"]
    functions = module_functions()
    name = args[position]
    if name not in functions:
        return [*problems, f"'{name}' is not a function of the module (it has: {', '.join(sorted(functions))})"]
    fn = functions[name]
    position = consume_flags(args, position + 1, Params.of(fn), name, problems)
    current = returned(fn)
    while position < len(args):
        step = args[position]
        method = getattr(current, step.replace("-", "_"), None) if inspect.isclass(current) else None
        if not (inspect.isclass(current) and issubclass(current, DaggerType)) or method is None:
            problems.append(f"'{step}' cannot follow a function returning {getattr(current, '__name__', current)}")
            return problems
        position = consume_flags(args, position + 1, Params.of(method), step, problems)
        current = returned(method)
    return problems


def consume_flags(args: list[str], position: int, params: Params, owner: str, problems: list[str]) -> int:
    """Read `--flag value`, `--flag=value` and boolean `--flag` up to the next function name."""
    given: set[str] = set()
    while position < len(args) and args[position].startswith("--"):
        flag, has_value, _ = args[position][2:].partition("=")
        position += 1
        if flag not in params.flags:
            problems.append(f"{owner}: unknown option --{flag} (it has: {', '.join(sorted(params.flags)) or 'none'})")
            continue
        given.add(flag)
        is_bool, _ = params.flags[flag]
        if not has_value and not is_bool:
            if position == len(args):
                problems.append(f"{owner}: --{flag} needs a value")
            position += 1
    problems.extend(
        f"{owner}: missing required option --{flag}"
        for flag, (_, required) in params.flags.items()
        if required and flag not in given
    )
    return position
