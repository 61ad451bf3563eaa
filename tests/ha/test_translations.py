"""Every user-visible key the code uses has an English text, and no text is orphaned."""

from __future__ import annotations

import json
from pathlib import Path
import re
import string
from typing import Any

from homeassistant.components.sensor import SensorEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
import yaml

from custom_components.ekm import compat
from custom_components.ekm.binary_sensor import COMMUNICATING, CONNECTED, INPUT_LEVELS
from custom_components.ekm.flow_bus import ProbeResult
from custom_components.ekm.helpers import _KEYS
from custom_components.ekm.sensor import SENSORS
from custom_components.ekm.sensor_tariff import TARIFF_NOW
from custom_components.ekm.switch import RELAYS

# Price now's description is made per entry (its unit names the currency); its name is fixed.
PRICE_NOW = SensorEntityDescription(key="Price_Now", translation_key="price_now")
PACKAGE = Path(__file__).parents[2] / "custom_components" / "ekm"
EN: dict[str, Any] = json.loads((PACKAGE / "translations" / "en.json").read_text())


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _sources() -> str:
    return "\n".join(path.read_text() for path in PACKAGE.glob("*.py"))


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in _strings(value, f"{path}.{key}")]
    return [(path, node)] if isinstance(node, str) else []


def test_every_string_parses_as_home_assistant_checks_it() -> None:
    """HA validates placeholders with str.format syntax and logs an error for what it cannot parse."""
    bad = []
    for path, text in _strings(EN):
        try:
            list(string.Formatter().parse(text))
        except ValueError:
            bad.append(path)
    assert bad == []


def test_entity_names() -> None:
    """Each description's translation key has a name with exactly its placeholders."""
    descriptions = {
        "sensor": [*(d for ds in SENSORS.values() for d in ds), TARIFF_NOW, PRICE_NOW],
        "binary_sensor": [*INPUT_LEVELS, COMMUNICATING, CONNECTED],
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


# Aborts Home Assistant raises for the flow: async_set_unique_id (a reconfigure of the same bus
# in another window), _abort_if_unique_id_configured, _abort_if_unique_id_mismatch and
# async_update_reload_and_abort. Our en.json must have each, so the user never sees a raw key.
HA_ABORTS = {"already_in_progress", "already_configured", "unique_id_mismatch", "reconfigure_successful"}


def test_flow_errors_and_aborts() -> None:
    flows = [
        PACKAGE / "config_flow.py",
        *(p for p in PACKAGE.glob("flow_*.py") if p.name != "flow_pulse_input.py"),
    ]
    source = "\n".join(path.read_text() for path in flows)
    errors = set(re.findall(r'(?:errors\[[^\]]+\] = |\{(?:CONF_\w+|"base"): )"(\w+)"', source))
    assert errors == set(EN["config"]["error"])
    aborts = set(re.findall(r'(?:reason=|AbortFlow\()"(\w+)"', source))
    assert aborts | HA_ABORTS == set(EN["config"]["abort"])
    assert _icu_placeholders(EN["config"]["abort"]["unique_id_mismatch"]) == {"meters"}
    # The flow fills meters_failed's one placeholder with the reasons that have meters.
    assert _icu_placeholders(EN["config"]["error"]["meters_failed"]) == {"failed"}
    assert _icu_placeholders(EN["config"]["error"]["meter_configured"]) == {"entry", "meters"}


def test_pulse_input_flow_errors_and_aborts() -> None:
    source = (PACKAGE / "flow_pulse_input.py").read_text()
    strings = EN["config_subentries"]["pulse_input"]
    errors = set(re.findall(r'errors\[[^\]]+\] = "(\w+)"', source))
    assert errors == set(strings["error"])
    aborts = set(re.findall(r'reason="(\w+)"', source)) | {"reconfigure_successful"}
    assert aborts == set(strings["abort"])
    assert set(strings["step"]) == set(re.findall(r'step_id="(\w+)"', source))


def test_failed_meters_message_lists_only_reasons_with_meters() -> None:
    """No "CRC errors: -." when no meter had a CRC error."""
    failed = ProbeResult(failures={"000000017507": "timeout", "000000000042": "timeout"})
    text = render_icu(EN["config"]["error"]["meters_failed"], failed.placeholders())
    assert text == (
        "Some meters gave no valid reading. No answer: 000000017507, 000000000042. "
        "Check the addresses and the wiring, or remove these meters from the list."
    )
    failed = ProbeResult(failures={"000000017507": "crc", "000000000042": "bad_reply"})
    text = render_icu(EN["config"]["error"]["meters_failed"], failed.placeholders())
    assert "No answer" not in text and "another address" not in text
    assert "CRC errors: 000000017507. Unreadable answer: 000000000042." in text


def _icu_placeholders(text: str) -> set[str]:
    """Argument names of an ICU message: {name} and {name, select, ...}."""
    return set(re.findall(r"\{(\w+)\s*[,}]", text))


def render_icu(text: str, args: dict[str, str]) -> str:
    """Format the ICU subset our texts use: {name} and {name, select, key {...} other {...}}."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "{":
            out.append(text[i])
            i += 1
            continue
        end = _closing(text, i)
        inner = text[i + 1 : end]
        name, _, rest = inner.partition(",")
        if not rest:
            out.append(args[name.strip()])
        else:
            kind, _, cases = rest.partition(",")
            assert kind.strip() == "select", inner
            options: dict[str, str] = {}
            j = 0
            while j < len(cases):
                brace = cases.index("{", j)
                close = _closing(cases, brace)
                options[cases[j:brace].strip()] = cases[brace + 1 : close]
                j = close + 1
                while j < len(cases) and cases[j].isspace():
                    j += 1
            value = args[name.strip()]
            out.append(render_icu(options.get(value, options["other"]), args))
        i = end + 1
    return "".join(out)


def _closing(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced braces in {text!r}")


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
