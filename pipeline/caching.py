"""Dagger's function caching: a function is answered from the engine's cache for up to 7 days unless it
says otherwise (`never`, `session`, or a time to live such as `1h`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import dagger

F = TypeVar("F", bound=Callable[..., Any])


def function(cache: str) -> Callable[[F], F]:
    """`@dagger.function(cache=...)`: the SDK accepts `cache` but its typed overloads leave it out."""
    decorator = cast(Callable[..., Callable[[F], F]], dagger.function)
    return decorator(cache=cache)
