"""lakestack.access (not built yet)."""

__all__: list[str] = []
