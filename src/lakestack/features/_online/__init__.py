"""Online stores: the latest feature row per key, for millisecond lookups by key.

Backends sit behind the small `OnlineStore` protocol and are picked by the URI's scheme:
`sqlite://` (embedded, the default) and `redis://` (production). Adding one is adding a module
and one `register_online_store` call.
"""

from __future__ import annotations

from lakestack.features._online._base import (
    OnlineStore,
    PublishState,
    open_online_store,
    register_online_store,
    schema_fingerprint,
)

__all__ = [
    "OnlineStore",
    "PublishState",
    "open_online_store",
    "register_online_store",
    "schema_fingerprint",
]
