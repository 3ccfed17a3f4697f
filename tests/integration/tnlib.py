"""Harness for integration tests: starts real `tenebra` processes and talks to them over
JSON-RPC and the CLI. Standard library only."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
BUILD = os.path.dirname(BIN) if BIN else None
TXGEN = os.path.join(BUILD, "tools", "txgen") if BUILD else None

failures = 0
checks = 0


def check(cond, what):
    """Records one check; prints failures with their description and keeps going."""
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"CHECK FAILED: {what}", flush=True)
    return cond


def finish():
    print(f"{checks - failures} passed, {failures} failed", flush=True)
    sys.exit(1 if failures else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Node:
    """A `tenebra node --dev` (or any argv) process with its own data directory and port."""

    def __init__(self, data_dir=None, block_time=200, extra=None, cmd="node", env=None,
                 pass_data=True):
        self.tmp = None
        if data_dir is None:
            self.tmp = tempfile.mkdtemp(prefix="tn-it-")
            data_dir = os.path.join(self.tmp, "data")
        self.data_dir = data_dir
        self.block_time = block_time
        self.extra = extra or []
        self.cmd = cmd
        self.env = env
        self.pass_data = pass_data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log_path = os.path.join(os.path.dirname(data_dir), f"node-{self.port}.log")

    def argv(self):
        base = [BIN, self.cmd]
        if self.cmd == "node":
            base.append("--dev")
        if self.pass_data:
            base += ["--data", self.data_dir]
        return base + ["--rpc", f"127.0.0.1:{self.port}",
                       "--block-time", str(self.block_time)] + self.extra

    def start(self, timeout=20):
        self.log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.update(self.env or {})
        self.proc = subprocess.Popen(self.argv(), stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError("node did not become healthy: " + self.tail())

    def tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode if self.proc else None
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
        return code

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def post(self, body, timeout=30):
        req = urllib.request.Request(self.url + "/", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read()

    def rpc(self, method, *params):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                           "params": list(params)}).encode()
        resp = json.loads(self.post(body))
        if "error" in resp:
            raise RpcError(resp["error"]["code"], resp["error"]["message"])
        return resp["result"]

    def rpc_error(self, method, *params):
        """Calls a method that must fail; returns (code, message)."""
        try:
            self.rpc(method, *params)
        except RpcError as e:
            return e.code, e.message
        return None, None

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return r.status, r.read().decode()

    def wait_height(self, h, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.rpc("chain_info")["height"] >= h:
                return True
            time.sleep(0.05)
        return False

    def wait_included(self, txid, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.rpc("tx_status", txid)
            if st["status"] == "included":
                return st
            time.sleep(0.05)
        return None

    def cli(self, *args, env=None, input=None):
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run([BIN, "--rpc", self.url] + list(args), capture_output=True,
                           text=True, env=e, input=input, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def balance(self, account):
        return int(self.rpc("account_get", account)["balance"])


def txgen(**kw):
    """Signs a tx with tests/tools/txgen; returns (hex, txid)."""
    argv = [TXGEN]
    for k, v in kw.items():
        argv += ["--" + k.replace("_", "-"), str(v)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
    return out[0], out[1]


PHA = 10 ** 12
DEV = ["alice", "bob", "charlie", "dave", "eve", "ferdie"]
