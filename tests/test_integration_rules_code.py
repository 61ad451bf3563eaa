"""hassfest's rules for the code (config_flow.py, config_schema.py, dependencies.py), and the
translation keys the code uses: each planted defect in a copy of a module or of translations/en.json
causes the problems it should, no more and no fewer."""

from __future__ import annotations

import pytest

from tests.integration_rules import problems
from tests.integration_rules_support import EN, REAL, Plant, edit_text, setting

CASES: dict[str, tuple[Plant, list[str]]] = {
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
}


@pytest.mark.parametrize(("plant", "expected"), CASES.values(), ids=CASES.keys())
def test_planted_defect(plant: Plant, expected: list[str]) -> None:
    assert problems(plant(REAL)) == expected
