"""The Python files: hassfest's config_flow.py, config_schema.py and dependencies.py, and the
translation keys the code uses (flow steps, menu options, repair issues, selectors).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from homeassistant.const import Platform
from homeassistant.exceptions import HomeAssistantError
from homeassistant.requirements import DISCOVERY_INTEGRATIONS
from homeassistant.util.yaml import parse_yaml

from .common import _get, _mapping

DISCOVERY_STEPS = ("bluetooth", "discovery", "dhcp", "hassio", "homekit", "mqtt", "ssdp", "usb", "zeroconf")
UNIQUE_ID_MARKERS = (
    "self.async_set_unique_id",
    "self._async_handle_discovery_without_unique_id",
    "register_discovery_flow",
    "AbstractOAuth2FlowHandler",
)
# Integrations any integration may import without declaring them (dependencies.py).
ALWAYS_ALLOWED = frozenset(
    {p.value for p in Platform}
    | {
        "alert", "automation", "conversation", "default_config", "device_automation", "frontend",
        "group", "homeassistant", "input_boolean", "input_button", "input_datetime", "input_number",
        "input_select", "input_text", "media_source", "onboarding", "panel_custom",
        "persistent_notification", "person", "script", "shopping_list", "sun", "system_health",
        "system_log", "timer", "webhook", "websocket_api", "zone", "mjpeg", "stream",
    }
)  # fmt: skip


@cache
def _tree(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


@cache
def _source_calls(source: str) -> tuple[ast.Call, ...]:
    tree = _tree(source)
    return tuple(node for node in ast.walk(tree) if isinstance(node, ast.Call)) if tree else ()


# --- config_flow.py, config_schema.py, dependencies.py ----------------------------------


def config_flow_problems(manifest: Mapping[str, Any] | None, source: str | None) -> list[str]:
    """`manifest` None: not a JSON object, so what it says is not checked."""
    if source is None:
        return (
            ["config_flow.py: missing, but the manifest says config_flow"]
            if manifest is not None and manifest.get("config_flow")
            else []
        )
    discoverable = any(f"async_step_{step}" in source for step in DISCOVERY_STEPS)
    if discoverable and not any(marker in source for marker in UNIQUE_ID_MARKERS):
        return ["config_flow.py: a discoverable flow needs to set a unique ID (hassfest warning)"]
    return []


def config_schema_problems(init: str | None, config: str | None) -> list[str]:
    if init is None:
        return []
    module = _tree(init)
    if module is None or not any(
        isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and node.name in ("async_setup", "setup")
        for node in module.body
    ):
        return []
    schemas = {"CONFIG_SCHEMA", "PLATFORM_SCHEMA", "PLATFORM_SCHEMA_BASE"}
    for node in module.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id in schemas for t in targets):
            return []
        if isinstance(node, ast.Import | ast.ImportFrom) and any(
            (a.asname or a.name) in schemas for a in node.names
        ):
            return []
    if config is not None and any(
        isinstance(node, ast.AsyncFunctionDef) and node.name == "async_validate_config"
        for node in getattr(_tree(config), "body", [])
    ):
        return []
    return ["__init__.py: async_setup needs CONFIG_SCHEMA or PLATFORM_SCHEMA(_BASE) (hassfest warning)"]


@cache
def _referenced_integrations(source: str) -> frozenset[str]:
    """The integrations a module uses, as dependencies.py's ImportCollector sees them."""
    tree = _tree(source)
    return frozenset(_references(tree)) if tree else frozenset()


def _references(tree: ast.AST) -> Iterator[str]:
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "homeassistant.components.http.auth" and [a.name for a in node.names] == [
                "async_sign_path"
            ]:
                continue
            if node.module.startswith("homeassistant.components."):
                yield node.module.split(".")[2]
            elif node.module == "homeassistant.components":
                yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (
                a.name.split(".")[2] for a in node.names if a.name.startswith("homeassistant.components.")
            )
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "components"
            and (
                (isinstance(node.value.value, ast.Name) and node.value.value.id == "hass")
                or (
                    isinstance(node.value.value, ast.Attribute) and node.value.value.attr in ("hass", "_hass")
                )
            )
        ):
            yield node.attr
            continue
        pending.extend(ast.iter_child_nodes(node))


def _declared(manifest: Mapping[str, Any] | None) -> set[str] | None:
    """The manifest's dependencies and after_dependencies; None if either is not a list of strings."""
    if manifest is None:
        return None
    declared: set[str] = set()
    for key in ("dependencies", "after_dependencies"):
        value = manifest.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return None
        declared |= set(value)
    return declared


def dependency_problems(
    manifest: Mapping[str, Any] | None, domain: str, sources: Mapping[str, str], names: frozenset[str]
) -> list[str]:
    """Syntax errors, and undeclared imports unless the manifest or its dependencies are malformed
    (the manifest schema check reports those).
    """
    declared = _declared(manifest)
    allowed = set(ALWAYS_ALLOWED) | {domain} | (declared or set())
    if "bluetooth_adapters" in allowed:
        allowed.add("bluetooth")
    allowed |= {
        integration for integration, keys in DISCOVERY_INTEGRATIONS.items() if set(keys) & set(manifest or {})
    }
    # A platform of ours for that integration (sensor.py, diagnostics.py, a directory).
    allowed |= {name.split("/")[0].removesuffix(".py") for name in names}
    found = []
    for path, source in sorted(sources.items()):
        if _tree(source) is None:
            found.append(f"{path}: syntax error")
        if declared is not None:
            found += [
                f"{path}: uses {used}, which is not in dependencies or after_dependencies"
                for used in sorted(_referenced_integrations(source) - allowed)
            ]
    return found


# --- translation keys the code uses ------------------------------------------------------


def _callee(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def flow_modules(trees: Mapping[str, ast.Module]) -> dict[str, ast.Module]:
    """The modules that hold the config and options flows: config_flow.py and those of the
    package it imports (directly or through them) with a class the flows are made of (the
    steps of a flow may be spread over mixins in other modules)."""
    imported: dict[str, ast.Module] = {}
    pending = ["config_flow.py"]
    while pending:
        path = pending.pop()
        if path in imported or path not in trees:
            continue
        imported[path] = trees[path]
        for node in trees[path].body:
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    pending.append(node.module.replace(".", "/") + ".py")
                else:
                    pending += [f"{alias.name}.py" for alias in node.names]
    holders = {path for _, chain in _flows(imported) for path, _ in chain}
    return {path: tree for path, tree in imported.items() if path in holders or path == "config_flow.py"}


def _base_names(cls: ast.ClassDef) -> list[str]:
    return [ast.unparse(base) for base in cls.bases]


def _flow_kind(bases: Iterable[str]) -> str | None:
    bases = list(bases)
    kind = "config" if any(b.endswith("ConfigFlow") for b in bases) else None
    return "options" if any("OptionsFlow" in b for b in bases) else kind


def _flows(modules: Mapping[str, ast.Module]) -> list[tuple[str, list[tuple[str, ast.ClassDef]]]]:
    """Each flow class that no other one extends, with its kind and every class of ours it is
    made of (itself first, then its bases, depth first), each with its module."""
    classes = {
        node.name: (path, node)
        for path, module in modules.items()
        for node in module.body
        if isinstance(node, ast.ClassDef)
    }

    def lineage(name: str, seen: tuple[str, ...] = ()) -> list[tuple[str, ast.ClassDef]]:
        if name in seen or name not in classes:
            return []
        chain = [classes[name]]
        for base in _base_names(classes[name][1]):
            chain += [c for c in lineage(base.rsplit(".", 1)[-1], (*seen, name)) if c not in chain]
        return chain

    lineages = {name: lineage(name) for name in classes}
    kinds = {
        name: _flow_kind(b for _, c in chain for b in _base_names(c)) for name, chain in lineages.items()
    }
    extended = {c.name for name, chain in lineages.items() if kinds[name] for _, c in chain[1:]}
    return [
        (kind, lineages[name]) for name, kind in kinds.items() if kind is not None and name not in extended
    ]


def flow_problems(
    modules: Mapping[str, ast.Module], strings: Mapping[str, Any] | None, names: Mapping[str, Any]
) -> list[str]:
    """Each form or menu step of the config and options flows has a text, and each step text a step.

    `modules` are the flow's modules (flow_modules); a flow class is read with the classes of
    ours it extends, wherever they are. A step is shown where a literal `step_id=` is passed, or
    a literal is passed as the step_id parameter of one of the flow's own helpers. `names`
    resolves a `menu_options=` name. Texts that are not mappings (`strings` None: the file is
    not a JSON object) are not compared: the strings schema check reports them.
    """
    found = []
    for kind, chain in _flows(modules):
        methods = {
            f.name: f
            for _, cls in reversed(chain)
            for f in cls.body
            if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        steps = {name.removeprefix("async_step_") for name in methods if name.startswith("async_step_")}
        shown: dict[str, str] = {}  # step -> the module that shows it
        menus: dict[str, list[str]] = {}
        calls = [(path, node) for path, cls in chain for node in ast.walk(cls) if isinstance(node, ast.Call)]
        for path, call in calls:
            step = _literal(_keyword(call, "step_id"))
            helper = methods.get(_callee(call)) if isinstance(call.func, ast.Attribute) else None
            params = [a.arg for a in helper.args.args[1:]] if helper else []
            if step is None and "step_id" in params and params.index("step_id") < len(call.args):
                step = _literal(call.args[params.index("step_id")])
            if step is None:
                continue
            shown.setdefault(step, path)
            options = _keyword(call, "menu_options")
            if _callee(call) == "async_show_menu" and options is not None:
                value = names.get(options.id) if isinstance(options, ast.Name) else None
                if isinstance(options, ast.List | ast.Tuple | ast.Dict):
                    value = [
                        _literal(e) for e in (options.keys if isinstance(options, ast.Dict) else options.elts)
                    ]
                menus[step] = list(value or [])
        found += [
            f"{shown[s]}: {kind} step {s} is shown but has no async_step_{s}"
            for s in sorted(set(shown) - steps)
        ]
        texts = _mapping(strings, kind, "step")
        if texts is None:
            continue
        found += [
            f"translations/en.json: {kind}.step.{s} is missing" for s in sorted(set(shown) - set(texts))
        ]
        found += [
            f"translations/en.json: {kind}.step.{s} belongs to no step"
            for s in sorted(set(texts) - set(shown))
        ]
        for step, menu in menus.items():
            menu_texts = _mapping(texts, step, "menu_options")
            if menu_texts is not None and set(menu) != set(menu_texts):
                found.append(f"translations/en.json: {kind}.step.{step}.menu_options differ from the menu")
    return found


def flow_module_problems(modules: Mapping[str, str]) -> list[str]:
    """hassfest's unique ID rule for config_flow.py (config_flow_problems), for each other module
    that holds steps of the flow: one with a discovery step sets a unique ID."""
    return [
        f"{path}: a discoverable flow needs to set a unique ID (as hassfest asks of config_flow.py)"
        for path, source in sorted(modules.items())
        if path != "config_flow.py"
        and any(f"async_step_{step}" in source for step in DISCOVERY_STEPS)
        and not any(marker in source for marker in UNIQUE_ID_MARKERS)
    ]


def usage_problems(
    sources: Mapping[str, str], strings: Mapping[str, Any] | None, services: str | None
) -> list[str]:
    """Repair issues and selector translation keys used in code exist, and none is stale.

    `strings` None: translations/en.json is not a JSON object. Malformed texts or services.yaml
    parts are skipped: the schema checks report them.
    """
    trees = {path: tree for path, source in sources.items() if (tree := _tree(source)) is not None}
    found = []
    if "config_flow.py" in trees:
        modules = flow_modules(trees)
        constants = {
            target.id: value
            for tree in trees.values()
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign) and (value := _literal(node.value)) is not None
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        names = {
            target.id: [constants.get(getattr(e, "id", ""), _literal(e)) for e in node.value.elts]
            for tree in modules.values()
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.List | ast.Tuple)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        found += flow_problems(modules, strings, names)
        found += flow_module_problems({path: sources[path] for path in modules})
    issues, selectors = set(), set()
    for call in (call for source in sources.values() for call in _source_calls(source)):
        key = _keyword(call, "translation_key")
        if _callee(call) in ("async_create_issue", "create_issue"):
            if _literal(key) is None:
                found.append("code: an issue's translation_key is not a literal, so it cannot be checked")
            issues.add(_literal(key))
        elif _callee(call).endswith("SelectorConfig") and key is not None:
            selectors.add(_literal(key))
    try:
        parsed = parse_yaml(services) if services else None
    except HomeAssistantError:
        parsed = None  # services_problems reports it
    for action in parsed.values() if isinstance(parsed, dict) else []:
        for field in (_mapping(action, "fields") or {}).values():
            if isinstance(select_key := _get(field, "selector", "select", "translation_key"), str):
                selectors.add(select_key)
    for what, used in (("issues", issues), ("selector", selectors)):
        used.discard(None)
        if (mapping := _mapping(strings, what)) is None:
            continue
        texts = set(mapping)
        found += [
            f"translations/en.json: {what}.{key} is missing" for key in sorted(k for k in used - texts if k)
        ]
        found += [f"translations/en.json: {what}.{key} is used nowhere" for key in sorted(texts - used)]
    return found
