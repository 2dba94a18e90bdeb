"""Awaiting a leaf of the Dagger graph, with what failed and where in the error."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable
from typing import TypeVar, cast

import anyio
import anyio.abc
import dagger
from dagger.mod._exceptions import FunctionError  # the SDK's own: raised, it logs no traceback

T = TypeVar("T")


async def checked(leaf: Awaitable[T], what: str) -> T:
    """Await a leaf of the graph; a failed exec becomes an error naming the step, with its output."""
    try:
        return await leaf
    except dagger.ExecError as e:
        raise RuntimeError(f"{what} failed (exit {e.exit_code}): {e.stderr.strip() or e.stdout.strip()}") from e
    except dagger.DaggerError as e:
        raise RuntimeError(f"{what} failed: {e}") from e


class Failed(FunctionError):
    """A check failed (tests, scan, a publish gate): the message is the summary, and the SDK prints it
    without a stack trace, as it does for its own FunctionError."""


@contextlib.asynccontextmanager
async def task_group(what: str) -> AsyncGenerator[anyio.abc.TaskGroup]:
    """anyio's task group, but a failure inside reaches the user as its own message (the image, the step,
    what happened), not as "unhandled errors in a TaskGroup (1 sub-exception)"."""
    try:
        async with anyio.create_task_group() as tg:
            yield tg
    except BaseExceptionGroup as group:
        leaves = _leaves(group)
        if len(leaves) == 1:
            raise leaves[0] from None
        raise Failed(f"{what}: {len(leaves)} failures:\n" + "\n".join(f"- {_text(e)}" for e in leaves)) from group


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            found += _leaves(cast(BaseExceptionGroup[BaseException], error))
        else:
            found.append(error)
    return found


def _text(error: BaseException) -> str:
    return str(error) if isinstance(error, RuntimeError | ValueError) else f"{type(error).__name__}: {error}"
