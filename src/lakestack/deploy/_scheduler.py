"""The scheduler of an environment runs its deployed code.

`DeployedScheduler` ticks a `pipelines.Scheduler` of the project as deployed (the checkout of
the current deployment, see `_checkout.py`). Before each tick it looks at the environment's
current deployment; after a deploy or a rollback it schedules the new code from then on, while
runs already started finish on the code they started with. Before the first deployment it
schedules the working folder, and says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lakestack.deploy._checkout import checkout, load_checkout
from lakestack.deploy._records import Deployment, DeploymentLog
from lakestack.errors import DeployError, PipelineError

if TYPE_CHECKING:
    from lakestack.config import Project
    from lakestack.pipelines import Launch, RunResult, Scheduler

__all__ = ["DeployedScheduler"]

log = logging.getLogger("lakestack.scheduler")


class DeployedScheduler:
    """Runs the jobs of an environment's deployed code on their schedules and triggers.

    Args:
        project: the project, as in the working folder.
        env: the environment (default: the project's default).
        on_deployment: called with each deployment the scheduler switches to (None: the
            working folder, before any deployment).
        **options: passed to each `pipelines.Scheduler` (`clock`, `background`, `engine`,
            `on_launch`, `on_update`, ...).

    Example:
        >>> DeployedScheduler(load_project("."), "prod").run_forever(interval=15)
        ... # doctest: +SKIP
    """

    def __init__(
        self,
        project: Project,
        env: str | None = None,
        *,
        on_deployment: Callable[[Deployment | None], None] | None = None,
        **options: Any,
    ) -> None:
        from lakestack.lake import Lake

        self.project = project
        self.environment = project.environment(env).name
        self.options = options
        self.on_deployment = on_deployment
        self._log = DeploymentLog(Lake.for_environment(project, self.environment))
        self._deployment_id: str | None = ""  # "" = not looked yet; None = working folder
        self._current: Scheduler | None = None
        self._retired: list[Scheduler] = []

    @property
    def scheduler(self) -> Scheduler:
        """The scheduler of the code deployed now (switching first if it changed)."""
        current = self._log.current()
        wanted = None if current is None else current.deployment_id
        if self._current is None or wanted != self._deployment_id:
            self._switch(current)
        assert self._current is not None
        return self._current

    def _switch(self, deployment: Deployment | None) -> None:
        from lakestack.pipelines import Scheduler

        if deployment is None:
            project = self.project
        else:
            folder = checkout(self.project, self.environment, deployment.code_commit)
            project = load_checkout(folder, deployment.code_commit)
        if self._current is not None:
            self._retired.append(self._current)  # its runs finish on their own code
        self._current = Scheduler(project, self.environment, **self.options)
        self._deployment_id = None if deployment is None else deployment.deployment_id
        if deployment is None:
            log.warning(
                "nothing is deployed to %s: scheduling the working folder %s",
                self.environment,
                self.project.root,
            )
        else:
            log.info(
                "scheduling deployment %s (commit %s) of %s",
                deployment.deployment_id,
                deployment.short_commit,
                self.environment,
            )
        if self.on_deployment is not None:
            self.on_deployment(deployment)

    def tick(self) -> list[Launch]:
        """Start every run of the deployed code that is due now; returns what it started."""
        return self.scheduler.tick()

    @property
    def results(self) -> list[RunResult]:
        """The runs this scheduler started that have ended."""
        return [r for s in self._schedulers() for r in s.results]

    @property
    def errors(self) -> list[tuple[Launch, BaseException]]:
        """The runs that could not run, with why."""
        return [e for s in self._schedulers() for e in s.errors]

    def _schedulers(self) -> list[Scheduler]:
        return [*self._retired, *([self._current] if self._current else [])]

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the runs this scheduler started to end."""
        for scheduler in self._schedulers():
            scheduler.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Cancel the runs this scheduler started and wait for them to be recorded."""
        for scheduler in self._schedulers():
            scheduler.stop(timeout)

    def run_forever(self, interval: float = 15.0, stop: threading.Event | None = None) -> None:
        """Tick every `interval` seconds until `stop` is set (or Ctrl-C); then cancel runs.

        Raises:
            PipelineError: another scheduler of this environment is running.
        """
        from lakestack.pipelines import tick_forever

        tick_forever(self, interval, stop, tolerated=(PipelineError, DeployError, OSError))
