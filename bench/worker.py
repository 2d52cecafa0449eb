"""A fresh worker process for one measured job, so its peak resident memory is its own.

`in_worker("year_report:project_job", url=...)` runs
bench.year_report.project_job(url=...) in a new interpreter (`python -m
bench.worker`), which imports only what that job imports, and returns what the
job returned plus the worker's peak resident set (VmHWM) in MiB. Nothing of the
bench's own process (the generator's buffers, the other figures) counts.
"""

import importlib
import json
import subprocess
import sys
from pathlib import Path

STATUS = Path("/proc/self/status")


def _status_mib(field: str) -> float:
    """A memory figure of this process from /proc (Linux), in MiB."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in {STATUS}")


def resident_mib() -> float:
    """This process's resident memory now."""
    return _status_mib("VmRSS")


def project_app(url: str):
    """The project's app on the bench's database, as a gunicorn worker would make it."""
    from shop import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})


def in_worker(job: str, **kwargs) -> dict:
    """Run `job` ("module:function" in bench) in a new interpreter; its answer, with peak_mib added."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.worker", job, json.dumps(kwargs, default=str)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {job} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    job, arguments = sys.argv[1], json.loads(sys.argv[2])
    module, function = job.split(":")
    answer = getattr(importlib.import_module(f"bench.{module}"), function)(**arguments)
    answer["peak_mib"] = _status_mib("VmHWM")
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
