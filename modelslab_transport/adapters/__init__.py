"""What both framework adapters share at their boundary, framework-free: the call keywords
they accept (one list, one did-you-mean check), the transport fields they declare, and the
cache of clients a model keeps.

The transport never imports this package; the adapters do.
"""

from __future__ import annotations

from ._client_cache import ClientCache
from ._fields import (
    SETTINGS_FIELDS,
    TransportFields,
    cached_settings,
    private_state,
    settings_from_fields,
)
from ._keywords import (
    CALL_KEYWORDS,
    RESERVED_BODY_FIELDS,
    WIRE_PARAMS,
    check_call_keywords,
    with_hints,
)

__all__ = [
    "CALL_KEYWORDS",
    "RESERVED_BODY_FIELDS",
    "SETTINGS_FIELDS",
    "WIRE_PARAMS",
    "ClientCache",
    "TransportFields",
    "cached_settings",
    "check_call_keywords",
    "private_state",
    "settings_from_fields",
    "with_hints",
]
