"""The image catalog (docker/images.yaml) and its features, validated into typed objects.

Nothing here needs a Dagger engine: the CLI (`python -m pipeline check`) and the module's
functions load the catalog the same way and fail with the same message.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal, NoReturn, cast

import yaml

CATALOG_PATH: Final = "docker/images.yaml"
FEATURES_DIR: Final = "docker/features"
OptionType = Literal["string", "boolean", "integer"]
OptionValue = str | bool | int
GO_CACHES: Final = "go-caches"  # publish's repository dev8-go-caches holds the Go caches: not an image name
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPTION_TYPES: Final[dict[str, type]] = {"string": str, "boolean": bool, "integer": int}


class CatalogError(Exception):
    """A catalog or feature file is wrong; the message names the file, image and key."""

    def __init__(self, file: str, key: str, message: str, image: str | None = None) -> None:
        where = f"{file}: image '{image}': {key}" if image else f"{file}: {key}"
        super().__init__(f"{where}: {message}")


@dataclasses.dataclass(frozen=True)
class FeatureOption:
    name: str
    type: OptionType
    default: OptionValue
    description: str
    choices: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class DevContainerInfo:
    """feature.yaml's `devcontainer`: what the feature is as a Dev Container Feature."""

    name: str  # display name
    version: str  # MAJOR.MINOR.PATCH of the published feature
    container_env: Mapping[str, str]  # set in containers that use it (Docker ENV syntax: ${PATH})


@dataclasses.dataclass(frozen=True)
class Feature:
    name: str
    directory: str  # relative to the repo root
    description: str
    options: Mapping[str, FeatureOption]
    tests: str | None  # the feature's container-structure-test file, if any
    digest: str  # of what install.sh can read: the folder without its tests
    installs_after: tuple[str, ...] = ()  # features that, when an image has them, install before this one
    devcontainer: DevContainerInfo | None = None

    def env(self, overrides: Mapping[str, OptionValue]) -> list[tuple[str, str]]:
        """The build-time variables that carry this feature's options to install.sh."""
        values = {name: option.default for name, option in self.options.items()} | dict(overrides)
        return [(option_variable(self.name, name), format_value(values[name])) for name in sorted(values)]


@dataclasses.dataclass(frozen=True)
class FeatureUse:
    feature: Feature
    options: Mapping[str, OptionValue]


@dataclasses.dataclass(frozen=True)
class CopiedFile:
    source: str  # relative to the repo root
    destination: str
    mode: int
    digest: str  # of its content


@dataclasses.dataclass(frozen=True)
class Image:
    name: str
    description: str
    parent: str | None
    base: str  # the external base reference, inherited from the root ancestor
    features: tuple[FeatureUse, ...]  # the whole chain's, ancestors first
    files: tuple[CopiedFile, ...]
    supervisor: bool
    env: Mapping[str, str]
    user: str
    workdir: str
    ports: tuple[int, ...]
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    labels: Mapping[str, str]
    tests: tuple[str, ...]  # structure-test files: the image's own and its features'


@dataclasses.dataclass(frozen=True)
class Catalog:
    go_image: str
    supervisor_dir: str
    supervisor_digest: str  # of the Go source the binary is built from (tests and docs left out)
    go_modules_digest: str  # of the supervisor's go.mod and go.sum: what its Go module cache holds
    images: Mapping[str, Image]  # in build order: every parent before its children

    def image(self, name: str) -> Image:
        try:
            return self.images[name]
        except KeyError:
            known = ", ".join(self.images)
            raise CatalogError(CATALOG_PATH, "images", f"unknown image '{name}' (known: {known})") from None


def option_variable(feature: str, option: str) -> str:
    """The environment variable install.sh reads an option from: github-cli/source -> GITHUB_CLI_SOURCE."""
    return f"{feature}_{option}".upper().replace("-", "_")


def format_value(value: OptionValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load(root: Path) -> Catalog:
    """Load and validate docker/images.yaml and every file it references under `root`."""
    raw = _read_yaml(root, CATALOG_PATH)
    reader = _Reader(CATALOG_PATH, None)
    reader.only_keys(raw, "", {"build", "images"})
    build = reader.mapping(raw, "build")
    reader.only_keys(build, "build", {"go-image", "supervisor"})
    go_image = reader.string(build, "go-image", "build.go-image")
    supervisor_dir = reader.string(build, "supervisor", "build.supervisor")
    _require_path(root, supervisor_dir, reader, "build.supervisor", directory=True)
    raw_images = reader.mapping(raw, "images")
    if not raw_images:
        raise CatalogError(CATALOG_PATH, "images", "no images defined")
    specs = {name: _ImageSpec.parse(name, spec) for name, spec in raw_images.items()}
    _check_parents(specs)
    features: dict[str, Feature] = {}
    images: dict[str, Image] = {}
    for name in _order(specs):
        images[name] = _resolve(root, specs[name], images, features)
    supervisor_digest = folder_digest(root / supervisor_dir, ("*_test.go", "*.md"))
    return Catalog(go_image, supervisor_dir, supervisor_digest, _go_modules_digest(root / supervisor_dir), images)


def load_feature(root: Path, name: str) -> Feature:
    directory = f"{FEATURES_DIR}/{name}"
    file = f"{directory}/feature.yaml"
    raw = _read_yaml(root, file)
    reader = _Reader(file, None)
    reader.only_keys(raw, "", {"description", "options", "installs-after", "devcontainer"})
    options: dict[str, FeatureOption] = {}
    for option_name, spec in reader.mapping(raw, "options", required=False).items():
        options[option_name] = _parse_option(reader, option_name, spec)
    _require_path(root, f"{directory}/install.sh", _Reader(file, None), "install.sh")
    installs_after = reader.strings(raw, "installs-after", ())
    for index, other in enumerate(installs_after):
        if other == name or not _NAME.match(other) or not (root / FEATURES_DIR / other / "feature.yaml").is_file():
            known = ", ".join(sorted(p.parent.name for p in (root / FEATURES_DIR).glob("*/feature.yaml")))
            reader.fail(f"installs-after[{index}]", f"{other!r} is not another feature (known: {known})")
    tests = f"{directory}/tests.yaml"
    return Feature(
        name=name,
        directory=directory,
        description=reader.string(raw, "description", "description"),
        options=options,
        tests=tests if (root / tests).is_file() else None,
        digest=folder_digest(root / directory, ("tests*.yaml",)),
        installs_after=installs_after,
        devcontainer=_devcontainer_info(reader, raw),
    )


def _devcontainer_info(reader: _Reader, raw: Mapping[str, object]) -> DevContainerInfo | None:
    if "devcontainer" not in raw:
        return None
    fields = reader.mapping(raw, "devcontainer")
    reader.only_keys(fields, "devcontainer", {"name", "version", "container-env"})
    version = reader.string(fields, "version", "devcontainer.version")
    if not _SEMVER.fullmatch(version):
        reader.fail("devcontainer.version", f"expected a version MAJOR.MINOR.PATCH such as 1.0.0, got {version!r}")
    env = _as_dict(fields.get("container-env", {}))
    if env is None:
        reader.fail("devcontainer.container-env", f"expected a mapping, got {kind_of(fields['container-env'])}")
    for variable, value in env.items():
        key = f"devcontainer.container-env.{variable}"
        if not _VARIABLE.fullmatch(variable):
            reader.fail(key, f"not an environment variable name (must match {_VARIABLE.pattern})")
        if not isinstance(value, str):
            reader.fail(key, f"expected a string, got {kind_of(value)} {value!r}")
    return DevContainerInfo(
        name=reader.string(fields, "name", "devcontainer.name"),
        version=version,
        container_env={k: str(v) for k, v in env.items()},
    )


def folder_digest(directory: Path, left_out: tuple[str, ...]) -> str:
    """SHA-256 over the folder's files (path, executable bit, content), but those whose names match
    `left_out`. A feature's is labelled before its install, so that builders that do not hash bind
    mounts (podman's) rebuild it when it changes."""
    total = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not any(fnmatch.fnmatch(path.name, pattern) for pattern in left_out):
            executable = "x" if path.stat().st_mode & 0o111 else "-"
            total.update(f"{path.relative_to(directory).as_posix()}\0{executable}\0".encode())
            total.update(hashlib.sha256(path.read_bytes()).digest())
    return f"sha256:{total.hexdigest()}"


def _go_modules_digest(directory: Path) -> str:
    """SHA-256 over go.mod and go.sum (a module without dependencies has no go.sum)."""
    total = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        path = directory / name
        total.update(f"{name}\0".encode() + (hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"-"))
    return f"sha256:{total.hexdigest()}"


@dataclasses.dataclass(frozen=True)
class _ImageSpec:
    """One image's entry as written, before the parent chain is applied."""

    name: str
    raw: Mapping[str, object]
    parent: str | None
    reader: _Reader

    _KEYS: Final = frozenset(
        {"description", "from", "parent", "features", "files", "supervisor", "env", "user", "workdir"}
        | {"ports", "entrypoint", "cmd", "labels", "tests"}
    )

    @classmethod
    def parse(cls, name: object, raw: object) -> _ImageSpec:
        if not isinstance(name, str) or not _NAME.match(name):
            raise CatalogError(CATALOG_PATH, "images", f"image name {name!r} must match {_NAME.pattern}")
        if name == GO_CACHES:
            raise CatalogError(CATALOG_PATH, "images", f"image name {name!r} is reserved: dev8-{name} holds Go caches")
        reader = _Reader(CATALOG_PATH, name)
        spec = _as_dict(raw)
        if spec is None:
            raise CatalogError(CATALOG_PATH, "(entry)", f"expected a mapping, got {kind_of(raw)}", name)
        reader.only_keys(spec, "", set(cls._KEYS))
        has_from, has_parent = "from" in spec, "parent" in spec
        if has_from == has_parent:
            raise CatalogError(CATALOG_PATH, "from/parent", "exactly one of 'from' or 'parent' is required", name)
        parent = reader.string(spec, "parent", "parent") if has_parent else None
        return cls(name=name, raw=spec, parent=parent, reader=reader)


def _check_parents(specs: Mapping[str, _ImageSpec]) -> None:
    for spec in specs.values():
        seen = [spec.name]
        parent = spec.parent
        while parent is not None:
            if parent not in specs:
                raise CatalogError(CATALOG_PATH, "parent", f"unknown image '{parent}'", seen[-1])
            if parent in seen:
                cycle = " -> ".join([*seen, parent])
                raise CatalogError(CATALOG_PATH, "parent", f"cycle between images: {cycle}", spec.name)
            seen.append(parent)
            parent = specs[parent].parent


def _order(specs: Mapping[str, _ImageSpec]) -> list[str]:
    order: list[str] = []
    for name in specs:
        chain: list[str] = []
        current: str | None = name
        while current is not None and current not in order:
            chain.append(current)
            current = specs[current].parent
        order.extend(reversed(chain))
    return order


def _resolve(root: Path, spec: _ImageSpec, done: Mapping[str, Image], features: dict[str, Feature]) -> Image:
    raw, reader = spec.raw, spec.reader
    parent = done[spec.parent] if spec.parent else None
    uses = list(parent.features) if parent else []
    for index, entry in enumerate(reader.sequence(raw, "features", required=False)):
        use = _feature_use(root, reader, f"features[{index}]", entry, features)
        if any(u.feature.name == use.feature.name for u in uses):
            raise CatalogError(
                CATALOG_PATH, f"features[{index}]", f"feature '{use.feature.name}' is already included", spec.name
            )
        uses.append(use)
    _check_install_order(spec.name, uses, len(parent.features) if parent else 0)
    files = list(parent.files) if parent else []
    for index, entry in enumerate(reader.sequence(raw, "files", required=False)):
        files.append(_copied_file(root, reader, f"files[{index}]", entry))
    tests = list(parent.tests[:1]) if parent else []  # a child replaces the parent's own test file
    if "tests" in raw:
        tests = [reader.string(raw, "tests", "tests")]
        _require_path(root, tests[0], reader, "tests")
    tests += [u.feature.tests for u in uses if u.feature.tests]
    ports = reader.integers(raw, "ports")
    return Image(
        name=spec.name,
        description=reader.string(raw, "description", "description"),
        parent=spec.parent,
        base=parent.base if parent else reader.string(raw, "from", "from"),
        features=tuple(uses),
        files=tuple(files),
        supervisor=reader.boolean(raw, "supervisor", parent.supervisor if parent else False),
        env=(dict(parent.env) if parent else {}) | reader.string_map(raw, "env"),
        user=reader.string(raw, "user", "user", parent.user if parent else "root"),
        workdir=reader.string(raw, "workdir", "workdir", parent.workdir if parent else "/"),
        ports=tuple(sorted(set(parent.ports if parent else ()) | set(ports))),
        entrypoint=reader.strings(raw, "entrypoint", parent.entrypoint if parent else ()),
        cmd=reader.strings(raw, "cmd", parent.cmd if parent else ()),
        labels=(dict(parent.labels) if parent else {}) | reader.string_map(raw, "labels"),
        tests=tuple(tests),
    )


def _check_install_order(image: str, uses: list[FeatureUse], inherited: int) -> None:
    """A feature's `installs-after` features, when the image has them, come before it."""
    names = [u.feature.name for u in uses]
    for position, use in enumerate(uses):
        for other in use.feature.installs_after:
            if other in names[position + 1 :]:
                raise CatalogError(
                    CATALOG_PATH,
                    f"features[{names.index(other) - inherited}]",
                    f"'{other}' must come before '{use.feature.name}', which installs after it"
                    f" ({use.feature.directory}/feature.yaml: installs-after)",
                    image,
                )


def _feature_use(root: Path, reader: _Reader, key: str, entry: object, features: dict[str, Feature]) -> FeatureUse:
    """A feature is listed as `name` or as `name: {option: value}`."""
    entry_map = _as_dict(entry)
    if isinstance(entry, str):
        name, raw_options = entry, {}
    elif entry_map is not None and len(entry_map) == 1:
        [(name, raw_value)] = entry_map.items()
        raw_options = _as_dict({} if raw_value is None else raw_value)
        if raw_options is None:
            reader.fail(f"{key}.{name}", f"expected a mapping of options, got {kind_of(raw_value)}")
    else:
        reader.fail(key, "expected a feature name or a one-key mapping {name: {option: value}}")
    if not (root / FEATURES_DIR / name / "feature.yaml").is_file():
        known = ", ".join(sorted(p.parent.name for p in (root / FEATURES_DIR).glob("*/feature.yaml")))
        reader.fail(key, f"unknown feature {name!r} (known: {known})")
    feature = features.get(name) or load_feature(root, name)
    features[name] = feature
    values: dict[str, OptionValue] = {}
    for option_name, value in raw_options.items():
        option = feature.options.get(option_name)
        where = f"{key}.{name}.{option_name}"
        if option is None:
            reader.fail(where, f"unknown option of feature '{name}' (known: {', '.join(feature.options) or 'none'})")
        values[option.name] = _check_value(reader, where, option, value)
    return FeatureUse(feature=feature, options=values)


def _check_value(reader: _Reader, key: str, option: FeatureOption, value: object) -> OptionValue:
    expected = _OPTION_TYPES[option.type]
    # bool is an int in Python: reject `true` where an integer is expected, and vice versa.
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        reader.fail(key, f"expected {option.type}, got {kind_of(value)} {value!r}")
    if option.choices and value not in option.choices:
        reader.fail(key, f"{value!r} is not one of {', '.join(option.choices)}")
    return cast(OptionValue, value)


def _parse_option(reader: _Reader, name: object, spec: object) -> FeatureOption:
    key = f"options.{name}"
    if not isinstance(name, str) or not _NAME.match(name):
        reader.fail(key, f"option name must match {_NAME.pattern}")
    fields = _as_dict(spec)
    if fields is None:
        reader.fail(key, f"expected a mapping, got {kind_of(spec)}")
    reader.only_keys(fields, key, {"type", "default", "description", "enum"})
    type_name = reader.string(fields, "type", f"{key}.type")
    if type_name not in _OPTION_TYPES:
        reader.fail(f"{key}.type", f"must be one of {', '.join(_OPTION_TYPES)}")
    choices = reader.strings(fields, "enum", ())
    option = FeatureOption(
        name=name,
        type=cast(OptionType, type_name),
        default="",
        description=reader.string(fields, "description", f"{key}.description"),
        choices=choices,
    )
    if "default" not in fields:
        reader.fail(f"{key}.default", "missing")
    return dataclasses.replace(option, default=_check_value(reader, f"{key}.default", option, fields["default"]))


def _copied_file(root: Path, reader: _Reader, key: str, entry: object) -> CopiedFile:
    fields = _as_dict(entry)
    if fields is None:
        reader.fail(key, f"expected a mapping with src, dest, mode, got {kind_of(entry)}")
    reader.only_keys(fields, key, {"src", "dest", "mode"})
    source = reader.string(fields, "src", f"{key}.src")
    _require_path(root, source, reader, f"{key}.src")
    mode = reader.string(fields, "mode", f"{key}.mode", "0644")
    if not re.fullmatch(r"0[0-7]{3}", mode):
        reader.fail(f"{key}.mode", f'expected an octal string such as "0755", got {mode!r}')
    destination = reader.string(fields, "dest", f"{key}.dest")
    digest = "sha256:" + hashlib.sha256((root / source).read_bytes()).hexdigest()
    return CopiedFile(source=source, destination=destination, mode=int(mode, 8), digest=digest)


def _require_path(root: Path, path: str, reader: _Reader, key: str, *, directory: bool = False) -> None:
    target = root / path
    if Path(path).is_absolute() or ".." in Path(path).parts:
        reader.fail(key, f"{path!r} must be a path inside the repository")
    if not (target.is_dir() if directory else target.is_file()):
        reader.fail(key, f"{'directory' if directory else 'file'} not found: {path}")


def _read_yaml(root: Path, file: str) -> dict[str, object]:
    try:
        data: object = yaml.safe_load((root / file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(file, "(file)", "not found") from None
    except yaml.YAMLError as e:
        raise CatalogError(file, "(syntax)", str(e).replace("\n", " ")) from None
    mapping = _as_dict(data)
    if mapping is None:
        raise CatalogError(file, "(top level)", f"expected a mapping, got {kind_of(data)}")
    return mapping


def _as_dict(value: object) -> dict[str, object] | None:
    """A YAML mapping with its keys as strings, or None when `value` is not a mapping."""
    if not isinstance(value, dict):
        return None
    return {str(k): v for k, v in cast(dict[object, object], value).items()}


_KINDS: Final[dict[type, str]] = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
}


def kind_of(value: object) -> str:
    """How an error message names the kind of a YAML value: "a mapping", "a list", ..."""
    return _KINDS.get(type(value), type(value).__name__)


@dataclasses.dataclass(frozen=True)
class _Reader:
    """Typed access to one YAML mapping, failing with the file, image and key."""

    file: str
    image: str | None

    def fail(self, key: str, message: str) -> NoReturn:
        raise CatalogError(self.file, key, message, self.image)

    def only_keys(self, raw: Mapping[str, object], where: str, allowed: set[str]) -> None:
        for key in raw:
            if key not in allowed:
                path = f"{where}.{key}" if where else key
                self.fail(path, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def _get(self, raw: Mapping[str, object], name: str, key: str, kind: type, default: object) -> object:
        if name not in raw:
            if default is _MISSING:
                self.fail(key, "missing")
            return default
        value = raw[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(key, f"expected {_KINDS[kind]}, got {kind_of(value)} {value!r}")
        return value

    def string(self, raw: Mapping[str, object], name: str, key: str, default: str | object = None) -> str:
        return str(self._get(raw, name, key, str, _MISSING if default is None else default))

    def boolean(self, raw: Mapping[str, object], name: str, default: bool) -> bool:
        return bool(self._get(raw, name, name, bool, default))

    def mapping(self, raw: Mapping[str, object], name: str, *, required: bool = True) -> dict[str, object]:
        value = self._get(raw, name, name, dict, _MISSING if required else {})
        return _as_dict(value) or {}

    def sequence(self, raw: Mapping[str, object], name: str, *, required: bool = True) -> list[object]:
        return list(cast(list[object], self._get(raw, name, name, list, _MISSING if required else [])))

    def strings(self, raw: Mapping[str, object], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        if name not in raw:
            return default
        items = self.sequence(raw, name)
        for index, item in enumerate(items):
            if not isinstance(item, str):
                self.fail(f"{name}[{index}]", f"expected a string, got {kind_of(item)} {item!r}")
        return tuple(str(i) for i in items)

    def integers(self, raw: Mapping[str, object], name: str) -> tuple[int, ...]:
        items = self.sequence(raw, name, required=False)
        for index, item in enumerate(items):
            if not isinstance(item, int) or isinstance(item, bool) or not 0 < item < 65536:
                self.fail(f"{name}[{index}]", f"expected a port number, got {kind_of(item)} {item!r}")
        return tuple(cast(list[int], items))

    def string_map(self, raw: Mapping[str, object], name: str) -> dict[str, str]:
        values = self.mapping(raw, name, required=False)
        for key, value in values.items():
            if not isinstance(value, str):
                self.fail(f"{name}.{key}", f"expected a string, got {kind_of(value)} {value!r}")
        return {k: str(v) for k, v in values.items()}


_MISSING: Final = object()
