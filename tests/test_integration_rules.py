"""hassfest's and HACS's rules for a custom integration: our files pass, and each rule catches its defect.

Each planted case changes one thing in a copy of the real files (nothing is written to disk)
and expects the problems that one change causes, no more and no fewer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration_rules import Checkout, problems
from tests.integration_rules.manifest import IOT_CLASSES, manifest_problems
from tests.integration_rules.translations import translations_directory_problems

ROOT = Path(__file__).parents[1]
REAL = Checkout.read(ROOT, "ekm")
EN = "translations/en.json"
Plant = Callable[[Checkout], Checkout]


def test_the_manifest_passes() -> None:
    assert manifest_problems(json.loads(REAL.files["manifest.json"]), "ekm") == []


def test_the_integration_and_the_repository_pass() -> None:
    assert problems(REAL) == []


def _order(key: str) -> str:
    return {"domain": ".domain", "name": ".name"}.get(key, key)


def edit_json(path: str, change: Callable[[dict[str, Any]], None], *, sort: bool = False) -> Plant:
    def plant(checkout: Checkout) -> Checkout:
        data = json.loads(checkout.files[path])
        change(data)
        if sort:
            data = {key: data[key] for key in sorted(data, key=_order)}
        return checkout.with_file(path, json.dumps(data, indent=2))

    return plant


def manifest(**values: Any) -> Plant:
    """Set (None: remove) manifest keys, keeping hassfest's key order."""

    def change(data: dict[str, Any]) -> None:
        for key, value in values.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value

    return edit_json("manifest.json", change, sort=True)


def edit_text(path: str, old: str, new: str) -> Plant:
    def plant(checkout: Checkout) -> Checkout:
        assert old in checkout.files[path], old
        return checkout.with_file(path, checkout.files[path].replace(old, new))

    return plant


def hacs_json(**values: Any) -> Plant:
    def plant(checkout: Checkout) -> Checkout:
        assert checkout.hacs_json is not None
        data = json.loads(checkout.hacs_json) | values
        return replace(checkout, hacs_json=json.dumps({k: v for k, v in data.items() if v is not None}))

    return plant


def setting(path: str, keys: str, value: Any) -> Plant:
    """Set (None: delete) the value at a dotted path of a JSON file."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = keys.split(".")
        for key in parents:
            data = data.setdefault(key, {})
        if value is None:
            del data[last]
        else:
            data[last] = value

    return edit_json(path, change)


def malformed(path: str, keys: str, value: Any) -> Plant:
    """Set the value at a dotted path ("": the whole file) of a JSON or YAML file, null included."""

    def plant(checkout: Checkout) -> Checkout:
        text = checkout.files[path]
        data = yaml.safe_load(text) if path.endswith(".yaml") else json.loads(text)
        if keys:
            *parents, last = keys.split(".")
            parent = data
            for key in parents:
                parent = parent[key]
            parent[last] = value
        else:
            data = value
        dump = yaml.safe_dump(data, sort_keys=False) if path.endswith(".yaml") else json.dumps(data)
        return checkout.with_file(path, dump)

    return plant


def unsorted(data: dict[str, Any]) -> None:
    """Today's manifest had after_dependencies after config_flow."""
    later = data.pop("after_dependencies")
    items = list(data.items())
    index = [key for key, _ in items].index("config_flow") + 1
    data.clear()
    data.update([*items[:index], ("after_dependencies", later), *items[index:]])


SERVICE_NAME_MISSING = "services.yaml: action set_relay has no name and is not in the translations file"
TARGETED = "set_relay:\n  target:\n    entity:\n      integration: ekm\n      domain: switch\n"

CASES: dict[str, tuple[Plant, list[str]]] = {
    # --- manifest.py / codeowners.py / requirements.py -------------------------------------
    "manifest key order": (
        edit_json("manifest.json", unsorted),
        ["manifest.json: keys are not sorted: domain, name, then alphabetical order"],
    ),
    "manifest unknown key": (
        manifest(homepage="https://example.com"),
        ["manifest.json: extra keys not allowed @ data['homepage']. Got 'https://example.com'"],
    ),
    "manifest key of the wrong type": (
        manifest(config_flow="yes"),
        ["manifest.json: expected bool for dictionary value @ data['config_flow']. Got 'yes'"],
    ),
    "manifest name missing": (
        manifest(name=None),
        [
            "manifest.json: required key not provided @ data['name']",
            "manifest.json (HACS): required key not provided @ data['name']",
        ],
    ),
    "iot_class not known": (
        manifest(iot_class="local_pull"),
        [
            f"manifest.json: value must be one of {sorted(IOT_CLASSES)} for dictionary value"
            " @ data['iot_class']. Got 'local_pull'"
        ],
    ),
    "iot_class missing": (manifest(iot_class=None), ["manifest.json: no iot_class"]),
    "integration_type not known": (
        manifest(integration_type="bridge"),
        [
            "manifest.json: value must be one of ['device', 'entity', 'hardware', 'helper', 'hub',"
            " 'service', 'system'] for dictionary value @ data['integration_type']. Got 'bridge'"
        ],
    ),
    "quality_scale not known": (
        manifest(quality_scale="diamond"),
        [
            "manifest.json: value must be one of ['bronze', 'custom', 'gold', 'internal', 'legacy',"
            " 'no_score', 'platinum', 'silver'] for dictionary value @ data['quality_scale']. Got 'diamond'"
        ],
    ),
    "gold without code owners": (
        manifest(quality_scale="gold", codeowners=[]),
        ["manifest.json: a silver or higher quality scale needs code owners"],
    ),
    "version not AwesomeVersion": (
        manifest(version="first release"),
        [
            "manifest.json: 'first release' is not a valid version for dictionary value"
            " @ data['version']. Got 'first release'"
        ],
    ),
    "version missing": (
        manifest(version=None),
        [
            "manifest.json: no version",
            "manifest.json (HACS): required key not provided @ data['version']",
        ],
    ),
    "documentation over http": (
        manifest(documentation="http://github.com/ekm-ha/ekm-metering"),
        [
            "manifest.json: documentation url is not prefixed with https for dictionary value"
            " @ data['documentation']. Got 'http://github.com/ekm-ha/ekm-metering'"
        ],
    ),
    "documentation of core": (
        manifest(documentation="https://www.home-assistant.io/integrations/ekm"),
        [
            "manifest.json: documentation must be the custom integration's for dictionary value"
            " @ data['documentation']. Got 'https://www.home-assistant.io/integrations/ekm'"
        ],
    ),
    "issue_tracker not a URL": (
        manifest(issue_tracker="the issues tab"),
        [
            "manifest.json: expected a URL for dictionary value @ data['issue_tracker']."
            " Got 'the issues tab'",
            "manifest.json (HACS): invalid url for dictionary value @ data['issue_tracker']."
            " Got 'the issues tab'",
        ],
    ),
    "domain not the directory": (
        manifest(domain="ekm_metering"),
        ["manifest.json: domain does not match the directory name"],
    ),
    "code owners missing": (
        manifest(codeowners=None),
        [
            "manifest.json: required key not provided @ data['codeowners']",
            "manifest.json (HACS): required key not provided @ data['codeowners']",
        ],
    ),
    "code owner not a handle": (
        manifest(codeowners=["ekm-ha"]),
        ["manifest.json: code owner 'ekm-ha' is not a GitHub handle"],
    ),
    "requirement with a space": (
        manifest(requirements=["serialx >= 1.11"]),
        ["manifest.json: requirement 'serialx >= 1.11' contains a space"],
    ),
    "requirement not a package": (
        manifest(requirements=["~serialx"]),
        ["manifest.json: requirement '~serialx' does not match the package pattern"],
    ),
    "requirement version unparseable": (
        manifest(requirements=["serialx>=one.eleven"]),
        ["manifest.json: cannot parse the version (one.eleven) of serialx"],
    ),
    "dhcp MAC in lowercase": (
        manifest(dhcp=[{"macaddress": "4016fa*"}]),
        [
            "manifest.json: needs to be uppercase for dictionary value @ data['dhcp'][0]['macaddress']."
            " Got '4016fa*'"
        ],
    ),
    "dhcp MAC without wildcard": (
        manifest(dhcp=[{"macaddress": "4016FA"}]),
        [
            "manifest.json: needs to contain a wildcard matcher for dictionary value"
            " @ data['dhcp'][0]['macaddress']. Got '4016FA'"
        ],
    ),
    # --- HACS: integration_manifest.py, hacsjson.py, information.py, brands.py, license.py --
    "HACS: no issue_tracker": (
        manifest(issue_tracker=None),
        ["manifest.json (HACS): required key not provided @ data['issue_tracker']"],
    ),
    "hacs.json unknown key": (
        hacs_json(domains=["ekm"]),
        ["hacs.json: extra keys not allowed @ data['domains']. Got ['ekm']"],
    ),
    "hacs.json without name": (
        hacs_json(name=None),
        ["hacs.json: required key not provided @ data['name']"],
    ),
    "hacs.json key of the wrong type": (
        hacs_json(zip_release="yes"),
        ["hacs.json: expected bool for dictionary value @ data['zip_release']. Got 'yes'"],
    ),
    "hacs.json country not known": (
        hacs_json(country=["US", "XX"]),
        [
            "hacs.json: Value 'XX' is not a country code. for dictionary value @ data['country']."
            " Got ['US', 'XX']"
        ],
    ),
    "hacs.json zip without filename": (
        hacs_json(filename=None),
        ["hacs.json: zip_release is True, but filename is not set"],
    ),
    "hacs.json missing": (lambda c: replace(c, hacs_json=None), ["hacs.json: missing"]),
    "no README": (
        lambda c: replace(c, root_names=c.root_names - {"README.md"}),
        ["repository: no README or INFO file at the root"],
    ),
    "no LICENSE": (
        lambda c: replace(c, root_names=c.root_names - {"LICENSE"}),
        ["repository: no LICENSE file at the root"],
    ),
    "no brand icon": (
        lambda c: replace(c, names=c.names - {"brand/icon.png"}),
        ["brand/icon.png: missing (HACS would look the domain up in the brands repository)"],
    ),
    # --- json.py ----------------------------------------------------------------------------
    "invalid JSON": (lambda c: c.with_file("icons.json", '{"entity": '), ["icons.json: invalid JSON"]),
    # --- services.py ------------------------------------------------------------------------
    "services.yaml not YAML": (
        lambda c: c.with_file("services.yaml", "set_relay: [\n"),
        ["services.yaml: invalid YAML"],
    ),
    "services.yaml missing": (
        lambda c: c.with_file("services.yaml", None),
        ["services.yaml: missing, but the integration registers actions"],
    ),
    "action name not a slug": (
        edit_text("services.yaml", "set_relay:\n", "Set-Relay:\n"),
        ["services.yaml: invalid slug Set-Relay (try set_relay) @ data['Set-Relay']"],
    ),
    "action field with an unknown key": (
        edit_text("services.yaml", "      default: 0\n", "      default: 0\n      unit: s\n"),
        [
            "services.yaml: extra keys not allowed @ data['set_relay']['fields']['seconds']['unit']. Got 's'",
        ],
    ),
    "action field with a bad selector": (
        edit_text("services.yaml", "        boolean:\n", "        bolean:\n"),
        [
            "services.yaml: Unknown selector type bolean found for dictionary value"
            " @ data['set_relay']['fields']['state']['selector']. Got {'bolean': None}"
        ],
    ),
    "action target not a mapping": (  # an empty `target:` is fine: hassfest allows None
        edit_text("services.yaml", TARGETED, "set_relay:\n  target: []\n"),
        ["services.yaml: expected a dictionary for dictionary value @ data['set_relay']['target']. Got []"],
    ),
    "action field twice across a section": (
        edit_text(
            "services.yaml",
            "    params:\n      required: false\n",
            "    extra:\n      fields:\n        command:\n          selector:\n            text:\n"
            "    params:\n      required: false\n",
        ),
        [
            "services.yaml: Duplicate use of field command in service. for dictionary value"
            " @ data['send_command']['fields']"
        ],
    ),
    "filter on an untargeted action": (
        edit_text(
            "services.yaml",
            "    start:\n      required: true\n",
            "    start:\n      required: true\n      filter:\n        supported_features:\n"
            "          - light.LightEntityFeature.TRANSITION\n",
        ),
        [
            "services.yaml: extra keys not allowed @ data['import_history']['fields']['start']['filter']."
            " Got {'supported_features': ['light.LightEntityFeature.TRANSITION']}"
        ],
    ),
    "action without a name": (
        setting(EN, "services.set_relay.name", None),
        [
            "translations/en.json: required key not provided @ data['services']['set_relay']['name']",
            SERVICE_NAME_MISSING,
        ],
    ),
    "action field without a description": (
        setting(EN, "services.set_relay.fields.seconds.description", None),
        [
            "translations/en.json: required key not provided"
            " @ data['services']['set_relay']['fields']['seconds']['description']",
            "services.yaml: action set_relay has a field seconds with no description"
            " and is not in the translations file",
        ],
    ),
    "select translation_key without texts": (
        edit_text(
            "services.yaml",
            "    seconds:\n",
            "    mode:\n      name: Mode\n      description: How.\n      selector:\n        select:\n"
            "          options: [fast, slow]\n          translation_key: mode\n    seconds:\n",
        ),
        [
            "services.yaml: action set_relay has a field mode with a selector translation key mode"
            " that is not in the translations file",
            "translations/en.json: selector.mode is missing",
        ],
    ),
    # --- icons.py ---------------------------------------------------------------------------
    "icon not from MDI": (
        setting("icons.json", "entity.sensor.pulse_cnt.default", "hass:counter"),
        [
            "icons.json: The icon needs to be a valid icon from Material Design Icons and start with `mdi:`"
            " for dictionary value @ data['entity']['sensor']['pulse_cnt']['default']. Got 'hass:counter'"
        ],
    ),
    "icons unknown key": (
        setting("icons.json", "device", {"meter": "mdi:meter-electric"}),
        ["icons.json: extra keys not allowed @ data['device']. Got {'meter': 'mdi:meter-electric'}"],
    ),
    "state icon same as default": (
        setting("icons.json", "entity.switch.relay.state.on", "mdi:electric-switch"),
        [
            "icons.json: The icon for state `relay.on` is the same as the default icon"
            " for dictionary value @ data['entity']['switch']"
        ],
    ),
    "icon key not a translation key": (
        setting("icons.json", "entity.button.Sync_Clock", {"default": "mdi:clock"}),
        [
            "icons.json: Invalid translation key 'Sync_Clock', need to be [a-z0-9-_]+ and cannot start or end"
            " with a hyphen or underscore. for dictionary value @ data['entity']['button']"
        ],
    ),
    "service icon in the old form": (
        setting("icons.json", "services.set_relay", "mdi:electric-switch"),
        [
            "icons.json: expected a dictionary for dictionary value @ data['services']['set_relay']."
            " Got 'mdi:electric-switch'"
        ],
    ),
    # --- translations.py --------------------------------------------------------------------
    "text with HTML": (
        setting(EN, "config.step.scan.title", "<b>Scan</b>"),
        [
            "translations/en.json: the string should not contain HTML for dictionary value"
            " @ data['config']['step']['scan']['title']. Got '<b>Scan</b>'"
        ],
    ),
    "text with a trailing space": (
        setting(EN, "config.step.scan.title", "Scan "),
        [
            "translations/en.json: the string should not contain leading or trailing spaces"
            " for dictionary value @ data['config']['step']['scan']['title']. Got 'Scan '"
        ],
    ),
    "placeholder in single quotes": (
        setting(EN, "exceptions.port_unavailable.message", "Port '{port}' is gone."),
        [
            "translations/en.json: the string should not contain placeholders inside single quotes"
            " for dictionary value @ data['exceptions']['port_unavailable']['message']."
            " Got \"Port '{port}' is gone.\""
        ],
    ),
    "text with a URL": (
        setting(EN, "issues.unknown_meter.description", "See https://ekmmetering.com for help."),
        [
            "translations/en.json: the string should not contain URLs, please use description placeholders"
            " instead for dictionary value @ data['issues']['unknown_meter']['description']."
            " Got 'See https://ekmmetering.com for help.'"
        ],
    ),
    "text around a reference": (
        setting(
            EN,
            "config.abort.already_configured",
            "Sorry: [%key:common::config_flow::abort::already_configured_device%]",
        ),
        [
            "translations/en.json: the string should not contain combined translations for dictionary value"
            " @ data['config']['abort']['already_configured']."
            " Got 'Sorry: [%key:common::config_flow::abort::already_configured_device%]'"
        ],
    ),
    "strings unknown key": (
        setting(EN, "notes", {"a": "b"}),
        ["translations/en.json: extra keys not allowed @ data['notes']. Got {'a': 'b'}"],
    ),
    "entity key not a translation key": (
        setting(EN, "entity.switch.Relay", {"name": "Relay"}),
        [
            "translations/en.json: Invalid translation key 'Relay', need to be [a-z0-9-_]+ and cannot start"
            " or end with a hyphen or underscore. for dictionary value @ data['entity']['switch']."
            " Got {'relay': {'name': 'Relay {relay}'}, 'Relay': {'name': 'Relay'}}"
        ],
    ),
    "exception key not a slug": (
        setting(EN, "exceptions.Port-Gone", {"message": "Gone."}),
        [
            "translations/en.json: invalid slug Port-Gone (try port_gone) for dictionary value"
            " @ data['exceptions']"
        ],
    ),
    "data_description without data": (
        setting(EN, "config.step.scan.data_description.ghost", "Not a field."),
        ["translations/en.json: data_description key ghost is not in data @ data['config']['step']['scan']"],
    ),
    "issue without title": (
        setting(EN, "issues.unknown_meter.title", None),
        ["translations/en.json: required key not provided @ data['issues']['unknown_meter']['title']"],
    ),
    "issue with description and fix_flow": (
        setting(EN, "issues.unknown_meter.fix_flow", {"step": {}}),
        [
            "translations/en.json: two or more values in the same group of exclusion 'fixable'"
            " @ data['issues']['unknown_meter'][<fixable>]"
        ],
    ),
    "options.title": (
        setting(EN, "options.title", "EKM"),
        ["translations/en.json: extra keys not allowed @ data['options']['title']. Got 'EKM'"],
    ),
    "helper without a user step description": (
        manifest(integration_type="helper"),
        ["translations/en.json: Step user needs a description for dictionary value @ data['config']"],
    ),
    "config.title": (
        setting(EN, "config.title", "EKM"),
        ["translations/en.json: config.title belongs at the root, as title (hassfest warning)"],
    ),
    # --- config_flow.py / config_schema.py / dependencies.py --------------------------------
    "config_flow.py missing": (
        lambda c: c.with_file("config_flow.py", None),
        ["config_flow.py: missing, but the manifest says config_flow"],
    ),
    "discovery in config_flow.py without unique ID": (
        edit_text(
            "config_flow.py",
            "    async def async_step_reauth(",
            "    async def async_step_zeroconf(self, info: Any) -> Any:\n        return None\n\n"
            "    async def async_step_reauth(",
        ),
        ["config_flow.py: a discoverable flow needs to set a unique ID (hassfest warning)"],
    ),
    "discovery without unique ID": (
        edit_text("flow_push3.py", "self.async_set_unique_id", "self.async_set_unique_key"),
        ["flow_push3.py: a discoverable flow needs to set a unique ID (as hassfest asks of config_flow.py)"],
    ),
    "async_setup without CONFIG_SCHEMA": (
        edit_text("__init__.py", "CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)\n", ""),
        ["__init__.py: async_setup needs CONFIG_SCHEMA or PLATFORM_SCHEMA(_BASE) (hassfest warning)"],
    ),
    "undeclared integration imported": (
        edit_text(
            "diagnostics.py",
            "from homeassistant.components.diagnostics import",
            "from homeassistant.components.zeroconf import async_get_instance\n"
            "from homeassistant.components.diagnostics import",
        ),
        ["diagnostics.py: uses zeroconf, which is not in dependencies or after_dependencies"],
    ),
    "undeclared integration through hass.components": (
        edit_text("diagnostics.py", "\n\n\n", "\n\nHUE = hass.components.hue\n\n\n"),
        ["diagnostics.py: uses hue, which is not in dependencies or after_dependencies"],
    ),
    # --- translation keys the code uses -----------------------------------------------------
    "flow step without text": (
        setting(EN, "config.step.scan", None),
        ["translations/en.json: config.step.scan is missing"],
    ),
    "stale flow step text": (
        setting(EN, "options.step.ghost", {"title": "Ghost"}),
        ["translations/en.json: options.step.ghost belongs to no step"],
    ),
    "flow shows a step it does not have": (
        edit_text("flow_push3.py", 'step_id="dhcp_confirm"', 'step_id="dhcp_check"'),
        [
            "flow_push3.py: config step dhcp_check is shown but has no async_step_dhcp_check",
            "translations/en.json: config.step.dhcp_check is missing",
            "translations/en.json: config.step.dhcp_confirm belongs to no step",
        ],
    ),
    "menu option without text": (
        setting(EN, "config.step.user.menu_options.push3", None),
        ["translations/en.json: config.step.user.menu_options differ from the menu"],
    ),
    "repair issue without text": (
        setting(EN, "issues", None),
        ["translations/en.json: issues.unknown_meter is missing"],
    ),
    "stale repair issue text": (
        setting(EN, "issues.ghost", {"title": "Ghost", "description": "Boo."}),
        ["translations/en.json: issues.ghost is used nowhere"],
    ),
    "repair issue key not a literal": (
        edit_text("cloud_coordinator.py", 'translation_key="unknown_meter"', "translation_key=ISSUE"),
        [
            "code: an issue's translation_key is not a literal, so it cannot be checked",
            "translations/en.json: issues.unknown_meter is used nowhere",
        ],
    ),
    "stale selector text": (
        setting(EN, "selector.mode", {"options": {"fast": "Fast"}}),
        ["translations/en.json: selector.mode is used nowhere"],
    ),
    # --- malformed files: the schema check reports the shape, later checks skip it ----------
    "manifest not an object": (
        malformed("manifest.json", "", []),
        [
            "manifest.json: expected a dictionary. Got []",
            "manifest.json (HACS): expected a dictionary. Got []",
        ],
    ),
    "manifest invalid JSON": (
        lambda c: c.with_file("manifest.json", "{"),
        ["manifest.json: invalid JSON"],
    ),
    "manifest after_dependencies a number": (
        malformed("manifest.json", "after_dependencies", 5),
        ["manifest.json: expected a list for dictionary value @ data['after_dependencies']. Got 5"],
    ),
    "manifest after_dependencies holding a mapping": (
        malformed("manifest.json", "after_dependencies", [{}]),
        ["manifest.json: expected str @ data['after_dependencies'][0]. Got {}"],
    ),
    "manifest dependencies null": (
        malformed("manifest.json", "dependencies", None),
        ["manifest.json: expected a list for dictionary value @ data['dependencies']. Got None"],
    ),
    "services.yaml fields a number": (
        malformed("services.yaml", "send_command.fields", 5),
        ["services.yaml: expected a dictionary for dictionary value @ data['send_command']['fields']. Got 5"],
    ),
    "services.yaml fields a list": (
        malformed("services.yaml", "send_command.fields", ["command"]),
        [
            "services.yaml: expected a dictionary for dictionary value @ data['send_command']['fields']."
            " Got ['command']"
        ],
    ),
    "services.yaml action a list": (
        malformed("services.yaml", "send_command", [1]),
        ["services.yaml: expected a dictionary for dictionary value @ data['send_command']. Got [1]"],
    ),
    "services.yaml select translation_key a list": (
        malformed(
            "services.yaml",
            "send_command.fields.command.selector",
            {"select": {"options": ["a"], "translation_key": ["a"]}},
        ),
        [
            "services.yaml: value should be a string for dictionary value"
            " @ data['send_command']['fields']['command']['selector']['translation_key']"
        ],
    ),
    "strings not an object": (
        malformed(EN, "", []),
        ["translations/en.json: expected a dictionary. Got []"],
    ),
    "strings invalid JSON": (
        lambda c: c.with_file(EN, "{"),
        ["translations/en.json: invalid JSON"],
    ),
    "config not a mapping": (
        malformed(EN, "config", []),
        ["translations/en.json: expected a dictionary for dictionary value @ data['config']. Got []"],
    ),
    "config.step a number": (
        malformed(EN, "config.step", 5),
        ["translations/en.json: expected a dictionary for dictionary value @ data['config']['step']. Got 5"],
    ),
    "config.step null": (
        malformed(EN, "config.step", None),
        [
            "translations/en.json: expected a dictionary for dictionary value @ data['config']['step']."
            " Got None"
        ],
    ),
    "config step a string": (
        malformed(EN, "config.step.user", "Menu"),
        [
            "translations/en.json: expected a dictionary for dictionary value"
            " @ data['config']['step']['user']. Got 'Menu'"
        ],
    ),
    "menu_options a number": (
        malformed(EN, "config.step.user.menu_options", 5),
        [
            "translations/en.json: expected a dictionary for dictionary value"
            " @ data['config']['step']['user']['menu_options']. Got 5"
        ],
    ),
    "menu_options a list of mappings": (
        malformed(EN, "config.step.user.menu_options", [{"rs485": "RS-485"}]),
        [
            "translations/en.json: expected a dictionary for dictionary value"
            " @ data['config']['step']['user']['menu_options']. Got [{'rs485': 'RS-485'}]"
        ],
    ),
    "issues a number": (
        malformed(EN, "issues", 5),
        ["translations/en.json: expected a dictionary for dictionary value @ data['issues']. Got 5"],
    ),
    "issues a list of mappings": (
        malformed(EN, "issues", [{}]),
        ["translations/en.json: expected a dictionary for dictionary value @ data['issues']. Got [{}]"],
    ),
    "selector a list": (
        malformed(EN, "selector", ["mode"]),
        ["translations/en.json: expected dictionary for dictionary value @ data['selector']. Got ['mode']"],
    ),
    "services texts a number": (
        malformed(EN, "services", 5),
        ["translations/en.json: expected dictionary for dictionary value @ data['services']. Got 5"],
    ),
    "action texts a list": (
        malformed(EN, "services.set_relay", []),
        [
            "translations/en.json: expected a dictionary for dictionary value"
            " @ data['services']['set_relay']. Got []"
        ],
    ),
    "action field texts a number": (
        malformed(EN, "services.set_relay.fields.state", 5),
        [
            "translations/en.json: expected a dictionary for dictionary value"
            " @ data['services']['set_relay']['fields']['state']. Got 5"
        ],
    ),
    # --- conditions.py / triggers.py --------------------------------------------------------
    "triggers.yaml not covered": (
        lambda c: c.with_file("triggers.yaml", "{}\n"),
        ["triggers.yaml: hassfest validates this file, integration_rules does not yet"],
    ),
}


@pytest.mark.parametrize(("plant", "expected"), CASES.values(), ids=CASES.keys())
def test_planted_defect(plant: Plant, expected: list[str]) -> None:
    assert problems(plant(REAL)) == expected


def test_domain_of_a_core_integration() -> None:
    """A custom `sun` would shadow the built-in one: a hassfest warning."""
    planted = manifest(domain="sun")(replace(REAL, directory="sun"))
    assert problems(planted) == [
        "manifest.json: domain collides with a built-in core integration (hassfest warning)"
    ]


def test_legacy_translations_directory() -> None:
    names = frozenset(name.replace("translations/", ".translations/") for name in REAL.names)
    assert translations_directory_problems(names) == [
        ".translations: the directory is called translations since Home Assistant 0.112"
    ]
    assert translations_directory_problems(REAL.names) == []
