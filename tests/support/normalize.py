"""Both renderings of an image reduced to one comparable list of steps.

`from_dockerfile` reads the Dockerfile text our renderer writes (ARG defaults substituted);
`from_graph` reads the operations a Dagger Container recorded. Equal lists mean the two paths
build the same image the same way.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

from tests.support.graph import Op

Step = tuple[Any, ...]
FEATURE_MOUNT = "/tmp/dev8-feature"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) per instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    result: list[tuple[str, str]] = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def stages(text: str) -> list[list[tuple[str, str]]]:
    """Instructions grouped by FROM; the global ARGs before the first FROM form stage 0."""
    groups: list[list[tuple[str, str]]] = [[]]
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            groups.append([])
        groups[-1].append((keyword, rest))
    return groups


def _mounts(rest: str) -> tuple[list[dict[str, str]], str]:
    mounts: list[dict[str, str]] = []
    while rest.startswith("--mount="):
        spec, _, rest = rest.partition(" ")
        mounts.append(dict(part.split("=", 1) for part in spec.removeprefix("--mount=").split(",")))
        rest = rest.lstrip()
    return mounts, rest


def _substitute(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], value)


def _arg(rest: str) -> tuple[str, str]:
    name, _, default = rest.partition("=")
    return name, json.loads(default) if default.startswith('"') else default


def from_dockerfile(text: str, build_args: Mapping[str, str] | None = None) -> dict[str, list[Step]]:
    """{'supervisor': [...], 'image': [...]} for a rendered Dockerfile built with `build_args`."""
    groups = stages(text)
    args = dict(_arg(rest) for keyword, rest in groups[0] if keyword == "ARG")
    result: dict[str, list[Step]] = {}
    for group in groups[1:]:
        ref = group[0][1]
        name = ref.split(" AS ")[1] if " AS " in ref else "image"
        steps: list[Step] = [("from", _substitute(ref.split(" AS ")[0], args))]
        pending: list[tuple[str, str]] = []
        stage_args = dict(args)
        for keyword, rest in group[1:]:
            steps += _dockerfile_step(keyword, rest, pending, stage_args, build_args or {})
        result[name] = steps
    return result


def _dockerfile_step(
    keyword: str, rest: str, pending: list[tuple[str, str]], args: dict[str, str], build_args: Mapping[str, str]
) -> list[Step]:
    if keyword == "ARG":
        name, value = _arg(rest)
        value = build_args.get(name, value)
        args[name] = value
        pending.append((name, value))
        return []
    if keyword == "RUN":
        mounts, command = _mounts(rest)
        caches = tuple(
            sorted((m["id"], m["target"], m.get("sharing", "shared")) for m in mounts if m["type"] == "cache")
        )
        binds = [m["source"] for m in mounts if m["type"] == "bind"]
        env = tuple(pending)
        pending.clear()
        if command.startswith("["):
            argv = tuple(json.loads(command))
        else:  # shell form: ARGs are expanded in place, leading NAME=value words are its environment
            env = ()
            words = shlex.split(_substitute(command, args))
            while "=" in words[0] and not words[0].startswith("-"):
                env += (tuple(words.pop(0).split("=", 1)),)  # type: ignore[assignment]
            argv = tuple(words)
        return [("run", binds[0] if binds else None, env, argv, caches)]
    pending.clear()
    if keyword == "COPY":
        words = rest.split()
        flags = dict(w.removeprefix("--").split("=", 1) for w in words if w.startswith("--"))
        paths = [w for w in words if not w.startswith("--")]
        mode = int(flags["chmod"], 8) if "chmod" in flags else None
        origin = f"stage:{flags['from']}" if "from" in flags else paths[0].rstrip("/")
        return [("copy", origin, paths[1], mode)]
    if keyword == "ENV":
        key, _, value = rest.partition("=")
        return [("env", key, json.loads(value))]
    if keyword in ("ENTRYPOINT", "CMD"):
        return [(keyword.lower(), tuple(json.loads(rest)))]
    if keyword == "LABEL":
        key, _, value = rest.partition("=")
        return [("label", key, _substitute(json.loads(value), args))]
    if keyword == "EXPOSE":
        return [("expose", int(rest))]
    return [(keyword.lower(), rest)]


def from_graph(chain: list[Op], *, build_stage: bool = False) -> list[Step]:
    """The Container chain of one image, or of a build stage (whose caches stay mounted), as steps."""
    steps: list[Step] = []
    caches: dict[str, tuple[str, str, str]] = {}
    bind: str | None = None
    env: list[tuple[str, str]] = []
    for name, args in chain:
        if name == "from":
            steps.append(("from", args["address"]))
        elif name == "withMountedCache":
            volume = args["cache"][-1][1]["key"]
            caches[args["path"]] = (volume, args["path"], args.get("sharing", "SHARED").lower())
        elif name == "withMountedDirectory" and args["path"] == FEATURE_MOUNT:
            bind = _directory_path(args["source"])
        elif name == "withEnvVariable" and (bind or caches):
            env.append((args["name"], args["value"]))
        elif name == "withExec":
            steps.append(("run", bind, tuple(env), tuple(args["args"]), tuple(sorted(caches.values()))))
        elif name == "withoutEnvVariable":
            env = [(k, v) for k, v in env if k != args["name"]]
        elif name == "withoutMount":
            bind = None if args["path"] == FEATURE_MOUNT else bind
            caches.pop(args["path"], None)
        else:
            steps += _graph_step(name, args)
    assert build_stage or (not caches and bind is None), f"mounts left on the image: {caches} {bind}"
    return steps


def _graph_step(name: str, args: dict[str, Any]) -> list[Step]:
    match name:
        case "withFile":
            source = args["source"]
            origin = "stage:supervisor" if any(op == "withExec" for op, _ in source) else source[-1][1]["path"]
            return [("copy", origin, args["path"], args.get("permissions"))]
        case "withDirectory":
            return [("copy", _directory_path(args["source"]), args["path"], None)]
        case "withEnvVariable":
            return [("env", args["name"], args["value"])]
        case "withWorkdir":
            return [("workdir", args["path"])]
        case "withUser":
            return [("user", args["name"])]
        case "withExposedPort":
            return [("expose", args["port"])]
        case "withEntrypoint":
            return [("entrypoint", tuple(args["args"]))]
        case "withDefaultArgs":
            return [("cmd", tuple(args["args"]))]
        case "withLabel":
            return [("label", args["name"], args["value"])]
        case "container":
            return []
        case _:
            raise AssertionError(f"no Dockerfile counterpart known for {name}({args})")


def _directory_path(chain: list[Op]) -> str:
    return "/".join(args["path"] for name, args in chain if name == "directory" and "path" in args)
