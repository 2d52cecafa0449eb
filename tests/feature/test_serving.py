"""`make serve`'s gunicorn stays open to a till while slow clients dribble their requests."""

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.request import urlopen

import pytest

from tests.conftest import PERSONAL_DATA_KEY

ROOT = Path(__file__).resolve().parents[2]
#: Generous for a busy machine, yet under the workers' 30 s timeout: with sync workers (WEB_THREADS=1) both
#: would be held by the slow clients until gunicorn killed them, and this wait runs out first.
ANSWER_WITHIN_S = 10
#: How long two workers may take to start on a busy machine.
BOOT_WITHIN_S = 120


def answers(port: int) -> bool:
    """Whether the server answers /healthz with 200 now."""
    try:
        return get(port, "/healthz")[0] == 200
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_command(port: int) -> list[str]:
    """The command line `make serve` runs, read from the Makefile, with this interpreter's gunicorn."""
    printed = subprocess.run(
        ["make", "-s", "--no-print-directory", "serve-command", f"BIN={Path(sys.executable).parent}"]
        + ["HOST=127.0.0.1", f"PORT={port}", "WEB_CONCURRENCY=2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return shlex.split(printed.stdout.strip())


def dribble(port: int, stop: threading.Event) -> None:
    """A slow client: a sign-in form whose body comes one byte at a time, until told to stop.

    The form is read whole (for its CSRF token) before anything is answered, so the server waits.
    """
    with socket.create_connection(("127.0.0.1", port)) as sock:
        head = "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        sock.sendall(f"{head}Content-Length: 10000\r\n\r\nusername=".encode())
        while not stop.wait(0.5):
            try:
                sock.sendall(b"a")
            except OSError:
                return


@pytest.fixture
def server(database_url, tmp_path):
    """`make serve`'s gunicorn on 127.0.0.1 with 2 workers on the test database; stopped by its pid."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port = free_port()
    env = {
        **os.environ,
        "BANGFU_ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "serving test",
        "PERSONAL_DATA_KEYS": PERSONAL_DATA_KEY,
        "RATELIMIT_STORAGE_URI": f"bangfu+sqlite:///{tmp_path / 'limits.sqlite3'}",
        "PRODUCT_IMAGES_FOLDER": str(tmp_path / "images"),
        "ROSTER_UPLOADS_FOLDER": str(tmp_path / "rosters"),
    }
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(serve_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # Ready when both workers have built the app: the master listens long before they have.
        deadline = time.monotonic() + BOOT_WITHIN_S
        while time.monotonic() < deadline and process.poll() is None and not answers(port):
            time.sleep(0.5)
        assert process.poll() is None and answers(port), (tmp_path / "gunicorn.log").read_text()
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def get(port: int, path: str) -> tuple[int, bytes]:
    with urlopen(f"http://127.0.0.1:{port}{path}", timeout=ANSWER_WITHIN_S) as answer:
        return answer.status, answer.read()


def test_two_slow_clients_do_not_keep_a_till_waiting(server):
    stop = threading.Event()
    slow = [threading.Thread(target=dribble, args=(server, stop), daemon=True) for _ in range(2)]
    for client in slow:
        client.start()
    try:
        time.sleep(1)  # both are in the middle of their bodies, one per worker if they were sync workers
        status, body = get(server, "/healthz")
        assert (status, body) == (200, b'{"status":"ok"}\n')
    finally:
        stop.set()
        for client in slow:
            client.join(timeout=5)


def test_threads_of_one_worker_write_to_the_database_side_by_side(server):
    """Each request has its own session: eight health checks writing at once all succeed."""
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: get(server, "/healthz"), range(16)))
    assert {status for status, _ in answers} == {200}
