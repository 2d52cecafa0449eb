"""A small HTTP client for load: keep-alive connections, cookies and the CSRF header, timings in seconds."""

import http.client
import json
import time
from http.cookies import SimpleCookie


class Client:
    """One keep-alive connection acting as one till."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(self, method: str, path: str, body=None) -> tuple[int, dict | None, float]:
        """Send one request; return the status, the JSON body and the seconds it took."""
        headers = {"Content-Type": "application/json"}
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
