"""A real `dingdan serve` process on a free loopback port, for black-box tests."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, database_url, port=None, env=None, demo=True):
        self.database_url = database_url
        self.port = port or free_port()
        self.env = env or {}
        self.demo = demo
        self.process = None
        self.log = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        env = dict(os.environ, DINGDAN_DATABASE_URL=self.database_url, **self.env)
        args = [sys.executable, "-m", "webui.cli", "serve", "--port", str(self.port)]
        if self.demo:
            args.append("--demo")
        self.process = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dingdan serve exited: {self.process.stdout.read()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("dingdan serve did not come up")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stdout:
            self.log.append(self.process.stdout.read())
            self.process.stdout.close()

    def output(self) -> str:
        return "".join(self.log)


@contextmanager
def running_server(database_url, **options):
    server = Server(database_url, **options).start()
    try:
        yield server
    finally:
        server.stop()


class Client:
    """An API client signed in as one user."""

    def __init__(self, base_url, username=None, password="demo"):
        self.base = f"{base_url}/api/v1"
        self.session = requests.Session()
        if username:
            response = self.session.post(
                f"{self.base}/auth/token", json={"username": username, "password": password}
            )
            assert response.status_code == 200, response.text
            self.session.headers["Authorization"] = f"Bearer {response.json()['token']}"

    def get(self, path, **kwargs):
        return self.session.get(self.base + path, timeout=30, **kwargs)

    def post(self, path, **kwargs):
        return self.session.post(self.base + path, timeout=30, **kwargs)
