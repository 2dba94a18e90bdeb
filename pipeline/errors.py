"""Awaiting a leaf of the Dagger graph, with what failed and where in the error."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

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
