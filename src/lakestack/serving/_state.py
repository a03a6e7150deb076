"""The models an endpoint serves (production, canary, shadow), loaded and swapped live."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakestack.errors import ServingError
from lakestack.serving._model import ServedModel

if TYPE_CHECKING:
    from lakestack.registry import LoadedModel
    from lakestack.serving._metrics import EndpointMetrics

__all__ = ["ModelSlots", "Traffic"]

log = logging.getLogger("lakestack.serving")

Loader = Callable[[str | int], "LoadedModel"]
AliasLookup = Callable[[str], "int | None"]


@dataclass(frozen=True)
class Traffic:
    """How requests are split: `canary` sends a share to another alias, `shadow` mirrors.

    Attributes:
        stage: the alias answering requests (`production`).
        canary: `(alias, percent)`: that share of requests is answered by the alias.
        shadow: an alias scoring every request too; its answers are logged, not returned.
    """

    stage: str = "production"
    canary: tuple[str, float] | None = None
    shadow: str | None = None

    @classmethod
    def from_config(cls, stage: str, traffic: dict[str, Any]) -> Traffic:
        """Read `endpoints.<name>.traffic`: `{canary: {staging: 10}, shadow: staging}`."""
        unknown = [k for k in traffic if k not in ("canary", "shadow")]
        if unknown:
            raise ServingError(
                f"endpoint traffic has unknown key(s) {', '.join(unknown)}: write "
                "`canary: {staging: 10}` (percent of requests) and/or `shadow: staging`"
            )
        canary = None
        if traffic.get("canary"):
            spec = traffic["canary"]
            if not isinstance(spec, dict) or len(spec) != 1:
                raise ServingError("traffic.canary must map one alias to a percent: {staging: 10}")
            ((alias, percent),) = spec.items()
            if not isinstance(percent, int | float) or not 0 <= percent <= 100:
                raise ServingError(f"traffic.canary.{alias} must be a percent in 0..100")
            canary = (str(alias), float(percent))
        shadow = traffic.get("shadow")
        if shadow is not None and not isinstance(shadow, str):
            raise ServingError("traffic.shadow must name an alias: shadow: staging")
        return cls(stage, canary, shadow)

    def variants(self) -> dict[str, str]:
        """Variant name -> alias."""
        out = {"production": self.stage}
        if self.canary:
            out["canary"] = self.canary[0]
        if self.shadow:
            out["shadow"] = self.shadow
        return out


@dataclass
class ModelSlots:
    """The loaded models by variant; a moved alias's version replaces its variant atomically.

    `on_load` listeners are called with every model loaded, before it answers a request.

    A request takes its model once, at its start, so a swap never drops an in-flight request.
    While no version holds the production alias yet (an endpoint deployed before its model),
    the slots wait, following the alias, and `waiting` says why.
    """

    loader: Loader
    traffic: Traffic = field(default_factory=Traffic)
    alias_lookup: AliasLookup | None = None
    metrics: EndpointMetrics | None = None
    fast_path: bool = True
    model: str = "the model"
    """What the aliases are of, for messages: `churn in prod`."""
    models: dict[str, ServedModel] = field(default_factory=dict)
    error: str | None = None
    waiting: str | None = None
    on_load: list[Callable[[ServedModel], None]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def ready(self) -> bool:
        return "production" in self.models

    def load_all(self) -> None:
        """Load every variant's model (the production one must load, unless no version holds
        its alias yet and the slots follow it: then they wait)."""
        for variant, alias in self.traffic.variants().items():
            if variant == "production" and self._unassigned(alias):
                self.waiting = (
                    f"waiting for a version of {self.model} with the alias {alias!r}: none has "
                    "it yet; the endpoint serves as soon as one does"
                )
                log.warning("%s", self.waiting)
                continue
            try:
                self._set(variant, self.loader(alias))
            except Exception as exc:
                if variant == "production":
                    self.error = f"cannot load {alias!r}: {exc}"
                    raise
                log.warning("variant %s (alias %s) not loaded: %s", variant, alias, exc)

    def _unassigned(self, alias: str) -> bool:
        if self.alias_lookup is None:
            return False
        try:
            return self.alias_lookup(alias) is None
        except Exception:  # the registry cannot say: loading will, with its error
            return False

    def _set(self, variant: str, loaded: LoadedModel) -> None:
        served = ServedModel.wrap(loaded, fast_path=self.fast_path)
        for listener in self.on_load:  # before it answers: its columns are known to the log
            listener(served)
        self.models = {**self.models, variant: served}  # one reference swap
        if variant == "production":
            self.waiting = None
        if self.metrics is not None:
            self.metrics.set_version(served.name, served.version, variant)
        log.info("serving %s version %s as %s", served.name, served.version, variant)

    def pick(self) -> tuple[str, ServedModel]:
        """The variant and model answering a request."""
        models = self.models
        canary = self.traffic.canary
        if canary and "canary" in models and random.random() * 100 < canary[1]:
            return "canary", models["canary"]
        return "production", models["production"]

    def poll_once(self) -> list[str]:
        """Load the versions the aliases point to now, where they moved; the variants swapped."""
        if self.alias_lookup is None:
            return []
        swapped = []
        for variant, alias in self.traffic.variants().items():
            try:
                version = self.alias_lookup(alias)
            except Exception as exc:
                log.warning("polling alias %s failed: %s", alias, exc)
                continue
            current = self.models.get(variant)
            if version is None or (current is not None and current.version == version):
                continue
            try:
                self._set(variant, self.loader(version))
            except Exception as exc:
                log.warning("loading version %s for %s failed: %s", version, variant, exc)
                continue
            swapped.append(variant)
        return swapped

    def follow(self, interval_s: float) -> threading.Thread:
        """Poll the aliases every `interval_s` seconds in a daemon thread."""

        def run() -> None:
            while not self._stop.wait(interval_s):
                self.poll_once()

        thread = threading.Thread(target=run, name="alias-poller", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
