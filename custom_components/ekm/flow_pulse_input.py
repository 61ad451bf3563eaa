"""'Add pulse input' on an entry: say what a meter's pulse input measures and what one pulse is.

Two steps: which meter and input and what is connected (water, gas, electricity); then the
unit and the amount per pulse, and a name. Reconfiguring shows the same form; a changed unit
or amount makes a new sensor (pulse_inputs.PulseInput.key), which the form says before the
change. The entry is reloaded after either, so the sensor comes or changes at once.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.helpers import selector
import voluptuous as vol

from .const import V4_METERS
from .pulse_inputs import (
    CONF_INPUT,
    CONF_MEASURES,
    CONF_METER,
    CONF_NAME,
    CONF_PER_PULSE,
    CONF_UNIT,
    INPUTS,
    UNITS,
    Measures,
    PulseInput,
    per_pulse,
)
from .runtime import EkmConfigEntry
from .sensor_pulse import async_disable_raw_count


class PulseInputFlow(ConfigSubentryFlow):
    """Configure one pulse input of one meter of the entry."""

    def __init__(self) -> None:
        self._chosen: dict[str, Any] = {}

    def _meters(self) -> list[str]:
        """The entry's meters that have pulse inputs (v4 and v5), while it is loaded."""
        entry: EkmConfigEntry = self._get_entry()
        runtime = getattr(entry, "runtime_data", None)
        if runtime is None:
            return []
        return sorted(a for a, protocol in runtime.coordinator.meters.items() if protocol in V4_METERS)

    def _taken(self, meter: str, number: int, *, but: str | None = None) -> bool:
        entry = self._get_entry()
        return any(
            s.subentry_type == self.handler[1]
            and s.subentry_id != but
            and (s.data.get(CONF_METER), s.data.get(CONF_INPUT)) == (meter, number)
            for s in entry.subentries.values()
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Which meter and input, and what is connected to it."""
        meters = self._meters()
        if not meters:
            return self.async_abort(reason="no_pulse_meter")
        errors: dict[str, str] = {}
        if user_input is not None:
            meter, number = user_input[CONF_METER], int(user_input[CONF_INPUT])
            if meter not in meters:
                errors[CONF_METER] = "unknown_meter"
            elif self._taken(meter, number):
                errors[CONF_INPUT] = "input_configured"
            else:
                self._chosen = {
                    CONF_METER: meter,
                    CONF_INPUT: number,
                    CONF_MEASURES: user_input[CONF_MEASURES],
                }
                return await self.async_step_amount()
        schema: Any = vol.Schema(  # Any: voluptuous on HA 2025, probatio's types on 2026
            {
                vol.Required(CONF_METER): selector.SelectSelector(
                    selector.SelectSelectorConfig(options=meters, mode=selector.SelectSelectorMode.DROPDOWN)
                ),
                vol.Required(CONF_INPUT, default="1"): INPUT_SELECTOR,
                vol.Required(CONF_MEASURES, default=Measures.WATER): MEASURES_SELECTOR,
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    async def async_step_amount(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """The unit, the amount one pulse stands for, and a name."""
        measures = Measures(self._chosen[CONF_MEASURES])
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _checked(self._chosen, user_input, errors)
            if not errors:
                async_disable_raw_count(self.hass, PulseInput.of("", data))
                self.hass.config_entries.async_schedule_reload(self._get_entry().entry_id)
                return self.async_create_entry(
                    title=_title(measures, data),
                    data=data,
                    unique_id=f"{data[CONF_METER]}_{data[CONF_INPUT]}",
                )
        return self.async_show_form(
            step_id="amount",
            data_schema=_amount_schema(measures, user_input or {}),
            errors=errors,
            description_placeholders={
                "meter": self._chosen[CONF_METER],
                "input": str(self._chosen[CONF_INPUT]),
            },
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Change the unit, amount or name; the meter and input stay (a new input is a new subentry)."""
        subentry = self._get_reconfigure_subentry()
        current = PulseInput.of(subentry.subentry_id, subentry.data)
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _checked(dict(subentry.data), user_input, errors)
            if not errors:
                entry = self._get_entry()
                result = self.async_update_and_abort(
                    entry, subentry, title=_title(current.measures, data), data=data
                )
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
                return result
        suggested = {CONF_UNIT: current.unit, CONF_PER_PULSE: str(current.per_pulse), CONF_NAME: current.name}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_amount_schema(current.measures, user_input or suggested),
            errors=errors,
            description_placeholders={"meter": current.meter, "input": str(current.number)},
        )


INPUT_SELECTOR: Final = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=[str(n) for n in INPUTS], translation_key="input", mode=selector.SelectSelectorMode.LIST
    )
)
MEASURES_SELECTOR: Final = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=list(Measures), translation_key="measures", mode=selector.SelectSelectorMode.LIST
    )
)


def _amount_schema(measures: Measures, values: dict[str, Any]) -> Any:
    units = list(UNITS[measures])
    return vol.Schema(
        {
            vol.Required(CONF_UNIT, default=values.get(CONF_UNIT, units[0])): selector.SelectSelector(
                selector.SelectSelectorConfig(options=units, mode=selector.SelectSelectorMode.DROPDOWN)
            ),
            # Text, not a number box: "0.001" stays exactly that (a box may round it).
            vol.Required(
                CONF_PER_PULSE, default=str(values.get(CONF_PER_PULSE, "1"))
            ): selector.TextSelector(),
            vol.Optional(CONF_NAME, default=values.get(CONF_NAME, "")): selector.TextSelector(),
        }
    )


def _checked(chosen: dict[str, Any], user_input: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The subentry's data from the form; `errors` gets what is wrong."""
    measures = Measures(chosen[CONF_MEASURES])
    unit = str(user_input.get(CONF_UNIT, ""))
    if unit not in UNITS[measures]:
        errors[CONF_UNIT] = "invalid_unit"
    try:
        amount = per_pulse(user_input.get(CONF_PER_PULSE, ""))
    except ValueError:
        errors[CONF_PER_PULSE] = "invalid_per_pulse"
        amount = None
    return {
        CONF_METER: chosen[CONF_METER],
        CONF_INPUT: int(chosen[CONF_INPUT]),
        CONF_MEASURES: str(measures),
        CONF_UNIT: unit,
        CONF_PER_PULSE: str(amount) if amount is not None else "",
        CONF_NAME: str(user_input.get(CONF_NAME) or "").strip(),
    }


_DEFAULT_NAMES: Final = {Measures.WATER: "Water", Measures.GAS: "Gas", Measures.ENERGY: "Electricity"}


def _title(measures: Measures, data: dict[str, Any]) -> str:
    """The subentry's title in the entry's list: 'Water (000300000001, input 1)', or the user's name
    in place of 'Water'."""
    return f"{data[CONF_NAME] or _DEFAULT_NAMES[measures]} ({data[CONF_METER]}, input {data[CONF_INPUT]})"
