"""Turn library errors of an entity action into translated Home Assistant errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Concatenate

from homeassistant.exceptions import HomeAssistantError

from .aioekm.errors import (
    CommandRejectedError,
    EkmConnectionError,
    EkmError,
    EkmTimeoutError,
    FrameError,
    WriteUnconfirmedError,
)
from .const import CONF_PORT, DOMAIN
from .coordinator import port_label
from .entity import EkmEntity

# Most specific first: the first match gives the translation key.
_KEYS: tuple[tuple[type[EkmError], str], ...] = (
    (CommandRejectedError, "command_rejected"),
    (WriteUnconfirmedError, "write_unconfirmed"),
    (EkmTimeoutError, "meter_timeout"),
    (FrameError, "meter_bad_reply"),
    (EkmConnectionError, "bus_unavailable"),
    (EkmError, "communication_error"),
)


def translated_error(err: EkmError, entity: EkmEntity) -> HomeAssistantError:
    """The HomeAssistantError telling the user what went wrong, never with secrets."""
    key = next(key for kind, key in _KEYS if isinstance(err, kind))
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={
            "address": entity.address,
            "port": port_label(str(entity.coordinator.config_entry.data.get(CONF_PORT, ""))),
        },
    )


def ekm_exception_handler[EntityT: EkmEntity, **P](
    func: Callable[Concatenate[EntityT, P], Coroutine[Any, Any, None]],
) -> Callable[Concatenate[EntityT, P], Coroutine[Any, Any, None]]:
    """Decorate an entity action so library errors reach the user translated."""

    async def handler(self: EntityT, /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await func(self, *args, **kwargs)
        except EkmError as err:
            raise translated_error(err, self) from err

    return handler
