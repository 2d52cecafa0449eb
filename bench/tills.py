"""A small HTTP client for load: keep-alive connections, cookies and the CSRF header, timings in seconds."""

import http.client
import json
import statistics
import threading
import time
from http.cookies import SimpleCookie


class Client:
    """One keep-alive connection acting as one till."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict | None, float]:
        """Send one request (with any extra headers); return the status, the JSON body and the seconds it took."""
        headers = {"Content-Type": "application/json", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.csrf:
            headers["X-CSRFToken"] = self.csrf
        data = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        return response.status, payload, elapsed

    def sign_in(self, username: str, password: str) -> None:
        """Get a session and its CSRF token, as the POS page does."""
        _, body, _ = self.request("GET", "/api/session")
        self.csrf = body["csrf_token"]
        status, body, _ = self.request("POST", "/api/session", {"username": username, "password": password})
        if status != 200:
            raise RuntimeError(f"sign-in failed: {status} {body}")
        self.csrf = body["csrf_token"]


def flat_out(clients: list[Client], seconds: float, send) -> dict:
    """Every client sends `send(client)` back to back for `seconds`; throughput, latency percentiles, failures.

    `send` returns (status, seconds taken, whether the status is the expected one).
    """
    latencies, failures, lock = [], [], threading.Lock()
    stop_at = time.perf_counter() + seconds

    def run(client):
        mine, bad = [], 0
        while time.perf_counter() < stop_at:
            _status, elapsed, ok = send(client)
            mine.append(elapsed)
            bad += not ok
        with lock:
            latencies.extend(mine)
            failures.append(bad)

    started = time.perf_counter()
    _on_every_client(clients, run)
    return _summary(latencies, failures, time.perf_counter() - started)


def fixed_rate(clients: list[Client], rate: float, seconds: float, send) -> dict:
    """Open loop: `rate` requests a second for `seconds`, each due at a fixed time; percentiles from the due time.

    A request waits for a free client when all are busy, and that wait counts in its latency: a server
    that falls behind shows it, instead of the load slowing down to match it. `send` is as for flat_out.
    """
    total = int(rate * seconds)
    slots, lock = iter(range(total)), threading.Lock()
    latencies, failures = [], []
    start = time.perf_counter() + 0.2

    def run(client):
        mine, bad = [], 0
        while True:
            with lock:
                slot = next(slots, None)
            if slot is None:
                break
            due = start + slot / rate
            if (delay := due - time.perf_counter()) > 0:
                time.sleep(delay)
            _status, _elapsed, ok = send(client)
            mine.append(time.perf_counter() - due)
            bad += not ok
        with lock:
            latencies.extend(mine)
            failures.append(bad)

    _on_every_client(clients, run)
    return _summary(latencies, failures, time.perf_counter() - start)


def _on_every_client(clients: list[Client], run) -> None:
    """Run `run(client)` in a thread per client, and wait for them all."""
    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _summary(latencies: list[float], failures: list[int], wall: float) -> dict:
    """Throughput, latency percentiles and failures of a load."""
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "per_s": len(latencies) / wall,
        "p50_ms": cuts[49] * 1000,
        "p95_ms": cuts[94] * 1000,
        "p99_ms": cuts[98] * 1000,
        "requests": len(latencies),
        "failures": sum(failures),
    }
