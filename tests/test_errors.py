"""Errors inside the module's task groups reach the user as their own message."""

from __future__ import annotations

import pytest

from pipeline.errors import Failed, task_group


async def fail(message: str) -> None:
    raise RuntimeError(message)


async def test_one_failure_is_raised_as_itself_not_as_a_task_group() -> None:
    with pytest.raises(RuntimeError, match=r"^image 'base': push failed: 502$"):
        async with task_group("publish") as tg:
            tg.start_soon(fail, "image 'base': push failed: 502")


async def fail_both() -> None:
    async with task_group("publish") as tg:
        tg.start_soon(fail, "image 'a': push failed")
        tg.start_soon(fail, "image 'b': push failed")


async def test_several_failures_are_listed_each_with_its_message() -> None:
    with pytest.raises(Failed) as failed:
        await fail_both()
    lines = str(failed.value).splitlines()
    assert lines[0] == "publish: 2 failures:"
    assert sorted(lines[1:]) == ["- image 'a': push failed", "- image 'b': push failed"]
