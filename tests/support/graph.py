"""Read the lazy query a Dagger object has recorded, without an engine.

The SDK appends one selection per builder call and sends nothing until a leaf is awaited, so
the chain of a Container is the list of operations the engine would run, in order.
"""

from __future__ import annotations

from typing import Any

from dagger.client.base import Type

Op = tuple[str, dict[str, Any]]


def ops(obj: Type) -> list[Op]:
    """(field, arguments) for every call in `obj`'s chain; object arguments become their own chains."""
    return [(field.name, {k: _value(v) for k, v in field.args.items()}) for field in obj._ctx.selections]  # pyright: ignore[reportPrivateUsage]


def names(obj: Type) -> list[str]:
    return [name for name, _ in ops(obj)]


def _value(value: Any) -> Any:
    if isinstance(value, Type):
        return ops(value)
    if isinstance(value, list):
        return [_value(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value
