"""Every user-visible key the code uses has an English text, and no text is orphaned."""

from __future__ import annotations

import json
from pathlib import Path
import re
import string
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
import yaml

from custom_components.ekm import compat
from custom_components.ekm.binary_sensor import COMMUNICATING, PULSE_INPUTS
from custom_components.ekm.helpers import _KEYS
from custom_components.ekm.sensor import SENSORS
from custom_components.ekm.switch import RELAYS

PACKAGE = Path(__file__).parents[2] / "custom_components" / "ekm"
EN: dict[str, Any] = json.loads((PACKAGE / "translations" / "en.json").read_text())


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _sources() -> str:
    return "\n".join(path.read_text() for path in PACKAGE.glob("*.py"))


def test_entity_names() -> None:
    """Each description's translation key has a name with exactly its placeholders."""
    descriptions = {
        "sensor": [d for ds in SENSORS.values() for d in ds],
        "binary_sensor": [*PULSE_INPUTS, COMMUNICATING],
        "switch": list(RELAYS),
    }
    for platform, items in descriptions.items():
        names = EN["entity"][platform]
        used = set()
        for description in items:
            assert description.translation_key in names, description.key
            name = names[description.translation_key]["name"]
            assert _placeholders(name) == set(description.translation_placeholders or {}), description.key
            used.add(description.translation_key)
        assert used == set(names), f"unused {platform} names: {set(names) - used}"


def test_icons_have_translations() -> None:
    icons = json.loads((PACKAGE / "icons.json").read_text())
    for platform, keys in icons["entity"].items():
        assert set(keys) <= set(EN["entity"][platform]), platform
    assert set(icons["services"]) == set(EN["services"])


def test_exceptions() -> None:
    """Every translation_key raised in the code, and every error key of the action decorator."""
    raised = re.findall(r'translation_domain=DOMAIN,\s*translation_key="(\w+)"', _sources())
    used = set(raised) | {key for _, key in _KEYS}
    assert used == set(EN["exceptions"])


def test_flow_errors_and_aborts() -> None:
    source = (PACKAGE / "config_flow.py").read_text()
    errors = set(re.findall(r'errors\[[^\]]+\] = "(\w+)"', source))
    assert errors == set(EN["config"]["error"])
    assert set(re.findall(r'reason="(\w+)"', source)) <= set(EN["config"]["abort"])
    # The per-reason placeholders of meters_failed are what the flow fills in.
    assert _placeholders(EN["config"]["error"]["meters_failed"]) == {
        "timeout",
        "crc",
        "wrong_address",
        "bad_reply",
    }


def test_services() -> None:
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text())
    assert set(services) == set(EN["services"])
    for name, service in services.items():
        assert set(service["fields"]) == set(EN["services"][name]["fields"])


async def test_port_field_per_version(hass: HomeAssistant) -> None:
    """HA's serial port selector where it exists, else detected ports plus free text."""
    field = await compat.async_port_selector()
    if compat.HAS_SERIAL_PORT_SELECTOR:
        assert field.selector_type == "serial_port"
    else:
        assert isinstance(field, selector.SelectSelector)
        assert field.config["custom_value"] is True
        assert field.config["options"] == await compat.async_list_ports()
