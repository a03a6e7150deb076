"""The infrastructure check: load a model in a fresh process as serving does, and score.

The parent runs `python -m lakestack.registry._infra '<json>'`; the child loads the model with
`load_model` (the loader serving uses), scores the stored input example, checks the output
against the signature and times the requests, then prints one JSON line.

The numeric libraries' thread pools (OpenMP, BLAS) are pinned to `threads` in the child, by
environment before any import and with threadpoolctl after the model loads: a model that
spreads one small request over every core pays for waking the threads, and on a busy machine
they wait for each other (LightGBM took 60 times longer per request with 2 OpenMP threads than
with one while other processes kept both cores busy). Serving scores one request per thread,
so one is the default. The first `warmup` requests are not timed (caches, lazy set-up).

Each timed request is measured twice: the CPU time it costs (the calling thread's CPU clock
with one thread, the whole process's with more, so that the pools' work counts) and its
wall-clock time. The gate judges the CPU time: what the model costs, which another process
keeping the cores busy does not change; the wall-clock time is reported beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np

__all__ = ["check_output", "run_infrastructure_check"]

_MARK = "LAKESTACK_INFRA_RESULT "


def _kind(dtype: Any) -> str:
    kind = np.dtype(dtype).kind
    return {"i": "int", "u": "int", "f": "float", "b": "bool", "M": "datetime"}.get(kind, "object")


def _compatible(declared: str, got: str) -> bool:
    return declared == got or (declared == "float" and got == "int")


def _declared_dtype(spec: Any) -> Any:
    kind = getattr(spec.type, "to_numpy", None)
    return kind() if callable(kind) else spec.type


def check_output(prediction: Any, outputs: Any, rows: int) -> str | None:
    """What is wrong with a prediction against the signature's output schema (None if fine)."""
    if outputs is None:
        return (
            "the signature declares no outputs; log the model with "
            "infer_signature(X, model.predict(X)) so that serving can check its responses"
        )
    specs = list(outputs.inputs)
    if hasattr(prediction, "columns") and hasattr(prediction, "to_numpy"):  # a DataFrame
        if len(prediction) != rows:
            return f"returned {len(prediction)} rows for {rows} input rows"
        names = [s.name for s in specs if getattr(s, "name", None)]
        missing = [n for n in names if n not in prediction.columns]
        if missing:
            return f"the output lacks declared column(s) {', '.join(missing)}"
        for spec in specs:
            if getattr(spec, "name", None) and not outputs.is_tensor_spec():
                got = _kind(prediction[spec.name].to_numpy().dtype)
                want = _kind(_declared_dtype(spec))
                if not _compatible(want, got):
                    return f"output column {spec.name!r} is {got}, the signature declares {want}"
        return None
    array = np.asarray(prediction)
    if array.ndim == 0 or array.shape[0] != rows:
        return f"returned shape {array.shape} for {rows} input rows"
    got = _kind(array.dtype)
    if outputs.is_tensor_spec():
        spec = specs[0]
        shape = tuple(spec.shape)[1:]
        if len(shape) != array.ndim - 1 or any(
            s not in (-1, a) for s, a in zip(shape, array.shape[1:], strict=False)
        ):
            return f"returned shape {array.shape}, the signature declares {tuple(spec.shape)}"
        want = _kind(spec.type)
    else:
        width = 1 if array.ndim == 1 else int(np.prod(array.shape[1:]))
        if width != len(specs):
            return f"returned {width} column(s), the signature declares {len(specs)}"
        want = _kind(_declared_dtype(specs[0]))
    if not _compatible(want, got):
        return f"returned {got} values, the signature declares {want}"
    return None


def _rows(example: Any) -> int:
    if hasattr(example, "shape"):
        return int(example.shape[0])
    if isinstance(example, dict):
        first: Any = next(iter(example.values()), [])
        return len(first) if hasattr(first, "__len__") else 1
    return len(example)


_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def _thread_pools() -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_info

    return [
        {"api": p.get("user_api"), "library": p.get("prefix"), "threads": p.get("num_threads")}
        for p in threadpool_info()
    ]


def _child(args: dict[str, Any]) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    from lakestack.registry._loader import load_model

    started = time.perf_counter()
    model = load_model(args["uri"], tracking_uri=args["tracking_uri"])
    load_s = time.perf_counter() - started
    example = model.input_example()
    if example is None:
        return {"ok": False, "load_s": load_s, "problem": "the model has no input example"}
    rows = _rows(example)
    threads = int(args["threads"])
    threadpool_limits(threads)  # pools a library started before reading the environment
    prediction = model.predict(example)
    problem = check_output(prediction, model.signature.outputs if model.signature else None, rows)
    for _ in range(int(args["warmup"]) - 1):  # the first call above was one
        model.predict(example)
    cpu_clock = time.thread_time if threads == 1 else time.process_time
    wall, cpu = [], []
    for _ in range(int(args["requests"])):
        w0, c0 = time.perf_counter(), cpu_clock()
        model.predict(example)
        c1, w1 = cpu_clock(), time.perf_counter()
        wall.append((w1 - w0) * 1000)
        cpu.append((c1 - c0) * 1000)
    return {
        "ok": problem is None,
        "problem": problem,
        "load_s": load_s,
        "rows": rows,
        "warmup": int(args["warmup"]),
        "requests": len(wall),
        "threads": threads,
        "thread_pools": _thread_pools(),
        "cpu_clock": "thread" if threads == 1 else "process",
        **_percentiles("cpu", cpu),
        **_percentiles("wall", wall),
    }


def _percentiles(name: str, timings: list[float]) -> dict[str, float]:
    values = np.asarray(timings)
    return {
        f"{name}_p50_ms": float(np.percentile(values, 50)),
        f"{name}_p95_ms": float(np.percentile(values, 95)),
        f"{name}_max_ms": float(values.max()),
    }


def run_infrastructure_check(
    uri: str,
    tracking_uri: str,
    *,
    requests: int,
    timeout_s: float,
    warmup: int = 5,
    threads: int = 1,
) -> dict[str, Any]:
    """Run the check in a fresh Python process; its measurements, or `problem` on a failure.

    Args:
        uri: the model version's URI.
        tracking_uri: the environment's tracking URI.
        requests: timed requests.
        timeout_s: seconds the process may take in all.
        warmup: untimed requests first (at least one: it also checks the output).
        threads: threads of the OpenMP and BLAS pools in the process.
    """
    payload = json.dumps(
        {
            "uri": uri,
            "tracking_uri": tracking_uri,
            "requests": requests,
            "warmup": max(1, warmup),
            "threads": threads,
        }
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.update(dict.fromkeys(_THREAD_VARIABLES, str(threads)))
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "lakestack.registry._infra", payload],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "problem": f"the fresh process did not finish in {timeout_s:.0f} s"}
    elapsed = time.perf_counter() - started
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(_MARK):
            result: dict[str, Any] = json.loads(line.removeprefix(_MARK))
            result["process_s"] = elapsed
            return result
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {
        "ok": False,
        "problem": f"the fresh process exited with code {done.returncode}: {tail}",
        "process_s": elapsed,
    }


def main(argv: list[str]) -> int:
    try:
        result = _child(json.loads(argv[0]))
    except Exception as exc:  # reported to the parent as the gate's failure
        result = {"ok": False, "problem": f"{type(exc).__name__}: {exc}"}
    print(_MARK + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
