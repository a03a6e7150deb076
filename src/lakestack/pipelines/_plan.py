"""A job resolved for one environment: its tasks, their parameters, and their order.

Also the import check `lakestack validate` runs: every task's `module:function` must import
with the project folder on `sys.path` and take one argument.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakestack.config import Problem
from lakestack.errors import PipelineError

if TYPE_CHECKING:
    from lakestack.config import JobConfig, Project

__all__ = ["JobPlan", "TaskSpec", "check_imports", "import_task_function"]


@dataclass(frozen=True)
class TaskSpec:
    """One task as a run executes it.

    Attributes:
        name: the task's name.
        run: its function, `module:function`.
        depends_on: the tasks that must succeed first.
        params: `params`, then `params_by_env[<env>]`, then the run's overrides, merged.
        retries: retries after a failed attempt.
        retry_delay: seconds before the first retry (doubling after each retry).
        timeout: seconds an attempt may run, or None.
    """

    name: str
    run: str
    depends_on: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    retries: int = 0
    retry_delay: float = 1.0
    timeout: float | None = None

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based), at most 10 minutes."""
        return float(min(600.0, self.retry_delay * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class JobPlan:
    """A job of a project, resolved for one environment.

    Attributes:
        job: the job's name.
        environment: the environment it runs in.
        tasks: the tasks by name, in the order of `lakestack.yaml`.
        allow_overlap: whether runs of the job may overlap.
    """

    job: str
    environment: str
    tasks: dict[str, TaskSpec]
    allow_overlap: bool = False

    @classmethod
    def build(
        cls,
        project: Project,
        job: str,
        environment: str,
        overrides: Mapping[str, Any] | None = None,
    ) -> JobPlan:
        """Resolve `job` for `environment`, with `overrides` applied to every task's params.

        Raises:
            PipelineError: no job of that name.
        """
        config = job_config(project, job)
        tasks = {
            task.name: TaskSpec(
                name=task.name,
                run=task.run,
                depends_on=tuple(task.depends_on),
                params={
                    **task.params,
                    **task.params_by_env.get(environment, {}),
                    **(overrides or {}),
                },
                retries=task.retries,
                retry_delay=task.retry_delay,
                timeout=task.timeout,
            )
            for task in config.tasks
        }
        return cls(job, environment, tasks, config.allow_overlap)

    def order(self) -> list[str]:
        """The tasks in a dependency order (ties keep the file's order)."""
        done: list[str] = []
        seen: set[str] = set()
        remaining = list(self.tasks)
        while remaining:
            ready = [n for n in remaining if seen.issuperset(self.tasks[n].depends_on)]
            if not ready:  # lakestack validate rejects cycles; be safe anyway
                raise PipelineError(f"job {self.job!r} has a dependency cycle among {remaining}")
            done.extend(ready)
            seen.update(ready)
            remaining = [n for n in remaining if n not in seen]
        return done

    def descendants(self, name: str) -> set[str]:
        """Every task that depends on `name`, directly or not."""
        found: set[str] = set()
        frontier = {name}
        while frontier:
            frontier = {
                t.name
                for t in self.tasks.values()
                if set(t.depends_on) & frontier and t.name not in found
            }
            found |= frontier
        return found


def job_config(project: Project, job: str) -> JobConfig:
    """The config of a job of the project.

    Raises:
        PipelineError: no job of that name.
    """
    try:
        return project.config.jobs[job]
    except KeyError:
        known = ", ".join(sorted(project.config.jobs)) or "none"
        raise PipelineError(
            f"no job {job!r} in {project.file}; jobs declared there: {known}. "
            f"Add it under `jobs:` (see docs/pipelines.md)."
        ) from None


@contextlib.contextmanager
def _on_sys_path(paths: Sequence[str]) -> Iterator[None]:
    added = [p for p in paths if p not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for p in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(p)


def import_task_function(run: str, sys_path: Sequence[str] = ()) -> Callable[..., Any]:
    """Import a task function `module:function`, with `sys_path` prepended while importing.

    Raises:
        PipelineError: the module cannot be imported, it has no such function, or the function
            does not take exactly one argument (the `TaskContext`).
    """
    module_name, _, function_name = run.partition(":")
    with _on_sys_path(list(sys_path)):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise PipelineError(
                    f"module {module_name!r} of {run!r} was not found on the project folder or "
                    "the Python path; check the module's spelling and that its folder is in the "
                    "project"
                ) from exc
            raise PipelineError(
                f"importing module {module_name!r} of {run!r} failed: {exc}; install the "
                "missing package or fix the import"
            ) from exc
        except Exception as exc:
            raise PipelineError(
                f"importing module {module_name!r} of {run!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
    function = getattr(module, function_name, None)
    if function is None:
        names = sorted(
            n for n, v in vars(module).items() if inspect.isfunction(v) and not n.startswith("_")
        )
        raise PipelineError(
            f"module {module_name!r} has no function {function_name!r}; its functions: "
            f"{', '.join(names) or 'none'}"
        )
    if not callable(function):
        raise PipelineError(f"{run!r} is a {type(function).__name__}, not a function")
    try:
        inspect.signature(function).bind(object())
    except TypeError:
        raise PipelineError(
            f"{run!r} must take exactly one argument, the task context: "
            f"def {function_name}(ctx: TaskContext) -> ..."
        ) from None
    except ValueError:  # no signature (a builtin): let the call decide
        pass
    return function  # type: ignore[no-any-return]


def check_imports(project: Project) -> list[Problem]:
    """Every task function of the project that cannot be imported, as problems.

    Each problem names the key `jobs.<job>.tasks[<i>].run` and the task. The modules are
    imported in this process, with the project folder on `sys.path`.

    Example:
        >>> for problem in check_imports(load_project(".")):  # doctest: +SKIP
        ...     print(problem)
    """
    problems: list[Problem] = []
    for job_name, job in project.config.jobs.items():
        for i, task in enumerate(job.tasks):
            try:
                import_task_function(task.run, [str(project.root)])
            except PipelineError as exc:
                problems.append(
                    Problem(
                        project.file,
                        f"jobs.{job_name}.tasks[{i}].run",
                        f"task {task.name!r}: {exc}",
                    )
                )
    return problems
