"""Online stores: the latest feature row per key, for millisecond lookups by key.

Backends sit behind the small `OnlineStore` protocol and are picked by the URI's scheme:
`sqlite://` (embedded, the default) and `redis://` (production). Adding one is adding a module
and one `register_online_store` call.

The protocol, the state of a published table and the registry of backends are in `_base`.
"""
