"""lakestack.server (not built yet)."""

__all__: list[str] = []
