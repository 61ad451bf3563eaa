"""hassfest's rules for the action and icon files (services.py, icons.py): each planted defect in
a copy of services.yaml, icons.json or the action texts causes the problems it should, no more and
no fewer."""

from __future__ import annotations

import pytest

from tests.integration_rules import problems
from tests.integration_rules_support import EN, REAL, Plant, edit_text, setting

SERVICE_NAME_MISSING = "services.yaml: action set_relay has no name and is not in the translations file"
TARGETED = "set_relay:\n  target:\n    entity:\n      integration: ekm\n      domain: switch\n"

CASES: dict[str, tuple[Plant, list[str]]] = {
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
}


@pytest.mark.parametrize(("plant", "expected"), CASES.values(), ids=CASES.keys())
def test_planted_defect(plant: Plant, expected: list[str]) -> None:
    assert problems(plant(REAL)) == expected
