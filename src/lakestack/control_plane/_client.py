"""The CLI as a client: an environment's writes sent to its control plane with a token."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lakestack import errors
from lakestack.access import is_authority
from lakestack.errors import AuthenticationError, LakestackError

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["RemoteEnvironment", "remote_for"]

_BY_STATUS: dict[int, type[LakestackError]] = {
    401: errors.AuthenticationError,
    403: errors.AccessDeniedError,
    409: errors.GateFailedError,
}


class RemoteEnvironment:
    """One environment of a control-plane server, called with a bearer token.

    Example:
        >>> remote = RemoteEnvironment("http://127.0.0.1:8700", "prod", token)  # doctest: +SKIP
        >>> remote.promote("flights_delay", 3, to="production")["applied"]  # doctest: +SKIP
        True
    """

    def __init__(self, url: str, environment: str, token: str, *, timeout: float = 600.0) -> None:
        self.url = url.rstrip("/")
        self.environment = environment
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"RemoteEnvironment({self.url!r}, {self.environment!r})"

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (),
    ) -> Any:
        """Call `/api/v1/envs/<env><path>`; its JSON answer.

        Args:
            ok: error statuses whose answer is returned rather than raised (409 of a
                refused promotion carries the gate report).

        Raises:
            LakestackError: the server refused (the same kind and message as a local call), or
                cannot be reached.
        """
        import httpx

        url = f"{self.url}/api/v1/envs/{self.environment}{path}"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = httpx.request(
                method, url, json=body, params=query, headers=self._headers, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise LakestackError(
                f"the control plane of {self.environment} at {self.url} cannot be reached "
                f"({type(exc).__name__}: {exc}); is `lakestack server` running there?"
            ) from exc
        if response.status_code < 400 or response.status_code in ok:
            return response.json()
        raise _error(response.status_code, response)

    def whoami(self) -> Any:
        return self.call("GET", "/whoami")

    def grant(self, principal: str, role: str, reason: str = "") -> Any:
        body = {"principal": principal, "role": role, "reason": reason}
        return self.call("POST", "/access/grants", body=body)

    def revoke_grant(self, principal: str, reason: str = "") -> Any:
        return self.call("DELETE", f"/access/grants/{principal}", params={"reason": reason})

    def create_token(
        self, principal: str, environments: list[str] | None, days: int | None, name: str
    ) -> Any:
        if environments and set(environments) != {self.environment}:
            raise LakestackError(
                f"the control plane of {self.environment} creates tokens for {self.environment} "
                "only; create the others' tokens one environment at a time"
            )
        body = {"principal": principal, "days": days, "name": name}
        return self.call("POST", "/access/tokens", body=body)

    def revoke_token(self, token_id: str) -> Any:
        return self.call("DELETE", f"/access/tokens/{token_id}")

    def tokens(self) -> Any:
        return self.call("GET", "/access/tokens")

    def audit(self, **filters: Any) -> Any:
        return self.call("GET", "/audit", params=filters)

    def promote(
        self, model: str, version: int, *, to: str, force: bool = False, reason: str = ""
    ) -> Any:
        body = {"version": version, "to": to, "force": force, "reason": reason}
        return self.call("POST", f"/models/{model}/promote", body=body, ok=(409,))

    def rollback(self, model: str, *, stage: str = "production", reason: str = "") -> Any:
        body = {"stage": stage, "reason": reason}
        return self.call("POST", f"/models/{model}/rollback", body=body)

    def trigger(self, name: str, reason: str = "") -> Any:
        return self.call("POST", f"/triggers/{name}", body={"reason": reason})

    def run(self, job: str, params: dict[str, Any] | None = None) -> Any:
        """Start a run of the job in the server; `{"run_id": ...}` at once."""
        return self.call("POST", f"/jobs/{job}/runs", body={"params": params or {}})

    def wait_for_run(self, run_id: str, *, start_s: float = 120.0, poll_s: float = 1.0) -> Any:
        """The run once it finished (`GET /runs/{run_id}` until its status is not `running`).

        Raises:
            LakestackError: its record did not appear within `start_s` seconds (it could not
                start: see the server's log).
        """
        import time

        deadline = time.monotonic() + start_s
        while True:
            answer = self.call("GET", f"/runs/{run_id}", ok=(400,))
            started = "run_id" in answer
            if started and answer["status"] != "running":
                return answer
            if not started and time.monotonic() > deadline:
                raise LakestackError(
                    f"run {run_id} did not start in {self.environment} within {start_s:g} s: "
                    f"{answer.get('detail')}; see the log of the control plane at {self.url}"
                )
            time.sleep(poll_s)

    def publish(self, table: str, *, full: bool = False, as_of: str | None = None) -> Any:
        body = {"full": full, "as_of": as_of}
        return self.call("POST", f"/features/{table}/publish", body=body)


def _error(status: int, response: Any) -> LakestackError:
    try:
        doc = response.json()
    except ValueError:
        doc = {"detail": response.text[:500]}
    detail = doc.get("detail") if isinstance(doc, dict) else doc
    kind = getattr(errors, str(doc.get("error", "")), None) if isinstance(doc, dict) else None
    if not (isinstance(kind, type) and issubclass(kind, LakestackError)):
        kind = _BY_STATUS.get(status, LakestackError)
    return kind(f"{detail}" if isinstance(detail, str) else f"HTTP {status}: {detail}")


def remote_for(project: Project, environment: str | None) -> RemoteEnvironment | None:
    """The control plane to send an environment's writes to (None: write locally).

    Raises:
        AuthenticationError: the environment has a control plane and `LAKESTACK_TOKEN` is unset.
    """
    env = project.environment(environment)
    if env.control_plane is None or is_authority(env.name):
        return None
    token = os.environ.get("LAKESTACK_TOKEN")
    if not token:
        raise AuthenticationError(
            f"{env.name} is written only through its control plane at {env.control_plane}; set "
            "LAKESTACK_TOKEN to your token there (an admin creates it on the server with "
            f"`lakestack access token create <you> --env {env.name}`)"
        )
    return RemoteEnvironment(env.control_plane, env.name, token)
