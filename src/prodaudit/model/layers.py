"""Architectural layers of the project's modules: presentation, service, data access.

Inferred from folder names (and the file's own name: `app/crud.py` is data access), the
deepest matching part winning, so `api/services/billing.py` is a service. A project can
declare its own layers in `[tool.prodaudit.layers]` of pyproject.toml (or a `[layers]`
table of prodaudit.toml), each layer a list of folder names or path globs:

    [tool.prodaudit.layers]
    presentation = ["app/http"]
    service = ["app/core/logic/*"]
    data = ["storage"]

Declared patterns win over inferred names; layers not declared keep their default names.
The table is read here rather than in config.py so that config stays a list of engine
settings; config.KNOWN_KEYS needs the key "layers" so it is not warned about as unknown.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path

PRESENTATION, SERVICE, DATA = "presentation", "service", "data"
LAYERS = (PRESENTATION, SERVICE, DATA)
DEFAULT_NAMES = {
    PRESENTATION: ("routers", "router", "routes", "api", "endpoints", "handlers", "views"),
    SERVICE: ("services", "service", "use_cases", "usecases", "application", "domain",
              "interactors"),
    DATA: ("crud", "repositories", "repository", "repos", "dal", "dao", "db", "models"),
}
LABELS = {PRESENTATION: "presentation", SERVICE: "service layer", DATA: "data access"}
# Names that are also used for a whole application package (`application/routers/...`):
# such a folder is the service layer only when it holds no presentation code itself.
AMBIGUOUS = frozenset({"application", "domain"})


@dataclass(frozen=True)
class LayerRules:
    declared: tuple[tuple[str, tuple[str, ...]], ...]  # layer -> patterns from config
    source: str  # where the declaration was read, "" when inferred only
    # Folders named like a layer that are really package roots ("src/application").
    package_roots: frozenset[str] = frozenset()

    def with_package_roots(self, paths) -> LayerRules:
        """Mark `application`/`domain` folders that contain presentation folders as
        package roots, not service layers."""
        roots = set()
        for path in paths:
            parts = path.split("/")[:-1]
            for index, part in enumerate(parts):
                if part.lower() in AMBIGUOUS and any(
                        later.lower() in DEFAULT_NAMES[PRESENTATION] for later in parts[index + 1:]):
                    roots.add("/".join(parts[: index + 1]))
        return LayerRules(self.declared, self.source, frozenset(roots))

    def patterns(self, layer: str) -> tuple[str, ...]:
        for name, patterns in self.declared:
            if name == layer:
                return patterns
        return ()

    def layer_of(self, path: str) -> str:
        """The layer of a module path ("" when none), declared patterns first."""
        parts = path.split("/")
        stem = parts[-1].removesuffix(".py")
        names = [*parts[:-1], stem] if stem != "__init__" else parts[:-1]
        best, depth = "", -1
        for layer, patterns in self.declared:
            for pattern in patterns:
                hit = _pattern_depth(pattern, path, names)
                if hit > depth:
                    best, depth = layer, hit
        if best:
            return best
        declared = {name for name, _ in self.declared}
        for index, name in enumerate(names):
            if name.lower() in AMBIGUOUS and "/".join(parts[: index + 1]) in self.package_roots:
                continue
            for layer in LAYERS:
                if layer not in declared and name.lower() in DEFAULT_NAMES[layer] and index >= depth:
                    best, depth = layer, index
        return best


def _pattern_depth(pattern: str, path: str, names: list[str]) -> int:
    """How deep in the path a pattern matches (-1: no match). A pattern with "/" or a
    wildcard matches path prefixes; a plain word matches one folder name."""
    pattern = pattern.strip().strip("/")
    if not pattern:
        return -1
    if "/" in pattern or any(c in pattern for c in "*?["):
        parts = path.split("/")
        for cut in range(len(parts), 0, -1):
            prefix = "/".join(parts[:cut])
            if fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(prefix.removesuffix(".py"), pattern):
                return cut - 1
        return -1
    for index in range(len(names) - 1, -1, -1):
        if names[index] == pattern:
            return index
    return -1


def read_layer_rules(root: Path) -> LayerRules:
    """`layers` from prodaudit.toml (top level or [tool.prodaudit]) or pyproject.toml's
    [tool.prodaudit]; the same files, in the same order, that config.py reads."""
    base = root if root.is_dir() else root.parent
    for name in ("prodaudit.toml", "pyproject.toml"):
        path = base / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return LayerRules((), "")
        table = data.get("tool", {}).get("prodaudit")
        if table is None and name == "prodaudit.toml":
            table = data
        if name == "prodaudit.toml" or isinstance(table, dict):
            layers = table.get("layers") if isinstance(table, dict) else None
            return LayerRules(_declared(layers), f"{name} [layers]" if layers else "")
    return LayerRules((), "")


def _declared(layers: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(layers, dict):
        return ()
    aliases = {"presentation": PRESENTATION, "api": PRESENTATION, "routers": PRESENTATION,
               "service": SERVICE, "services": SERVICE, "use_cases": SERVICE,
               "data": DATA, "data_access": DATA, "data-access": DATA, "crud": DATA,
               "repositories": DATA}
    declared = []
    for key, value in sorted(layers.items()):
        layer = aliases.get(str(key).lower())
        if layer is None:
            continue
        patterns = (value,) if isinstance(value, str) else tuple(v for v in value if isinstance(v, str)) \
            if isinstance(value, list) else ()
        if patterns:
            declared.append((layer, patterns))
    return tuple(declared)
