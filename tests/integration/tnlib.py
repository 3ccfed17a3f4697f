"""Harness for integration tests: starts real `tenebra` processes and talks to them over
JSON-RPC and the CLI. Standard library only."""
import atexit
import json
import os
import shutil
import signal
import socket
import struct
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


def any_failed():
    """Whether a check failed so far (tests import * from here, which copies `failures` once)."""
    return failures > 0


_started = []  # every process a test started, killed at exit even when the test itself crashed


def _kill_leftovers():
    for proc in _started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


atexit.register(_kill_leftovers)


def spawn(argv, **kw):
    """subprocess.Popen that never outlives the test."""
    proc = subprocess.Popen(argv, **kw)
    _started.append(proc)
    return proc


def finish():
    print(f"{checks - failures} passed, {failures} failed", flush=True)
    sys.exit(1 if failures else 0)


def free_port():
    """A free port below the kernel's ephemeral range, picked at random (see free_port_block):
    a port the kernel hands out (bind to 0) is the next one it will also give to another test's
    outgoing connection or free_port, so two nodes of concurrent tests could race for it."""
    return free_port_block(1)


def log_tail(path, n=20):
    """The last n lines of a process's log ("" if it has none yet)."""
    try:
        with open(path, "rb") as f:
            return b"".join(f.readlines()[-n:]).decode(errors="replace")
    except OSError:
        return ""


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
        self.proc = spawn(self.argv(), stdout=self.log, stderr=subprocess.STDOUT,
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
        return log_tail(self.log_path, n)

    def wait_log(self, text, timeout=20, n=200):
        """The last n log lines once they contain text (or whatever is there after timeout)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            out = self.tail(n)
            if text in out:
                return out
            time.sleep(0.05)
        return self.tail(n)

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


# ---- multi-node networks (tenebra testnet) --------------------------------------------------

def free_port_block(n, avoid=()):
    """A base port such that base..base+n-1 are free now (and not in avoid). Below the
    kernel's ephemeral range, so no outgoing connection (a proxy dialling a node that is not
    up yet can even connect to itself) takes a node's port before it starts."""
    import random
    low = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError):
        pass
    for _ in range(200):
        base = random.randint(10000, low - n - 1)
        ports = range(base, base + n)
        if any(p in avoid for p in ports):
            continue
        try:
            socks = []
            for p in ports:
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                socks.append(s)
            for s in socks:
                s.close()
            return base
        except OSError:
            for s in socks:
                s.close()
    raise RuntimeError("no free port block")


class NetNode(Node):
    """One node of a Testnet, started from its args file (plus extra arguments)."""

    def __init__(self, net, name, args, extra=None):
        self.args = list(args)
        data = self.args[self.args.index("--data") + 1]
        super().__init__(data_dir=data, extra=extra,
                         env={"TENEBRA_VALIDATOR_PASSWORD": ""})
        self.net = net
        self.name = name
        self.port = int(self.args[self.args.index("--rpc") + 1].rsplit(":", 1)[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(os.path.dirname(data), f"{name}.log")

    def argv(self):
        return [BIN] + self.args + ["--timeouts", self.net.timeouts] + self.extra

    def set_arg(self, flag, value):
        if flag in self.args:
            self.args[self.args.index(flag) + 1] = value
        else:
            self.args += [flag, value]

    def p2p_port(self):
        return int(self.args[self.args.index("--p2p") + 1].rsplit(":", 1)[1])


class Testnet:
    """`tenebra testnet --no-start` in a temp dir; nodes started one by one by the test."""

    def __init__(self, n=4, block_time=300, timeouts="600,300,300"):
        self.tmp = tempfile.mkdtemp(prefix="tn-net-")
        self.dir = os.path.join(self.tmp, "net")
        self.timeouts = timeouts
        self.p2p_base = free_port_block(n + 8)
        self.rpc_base = free_port_block(n + 8, avoid=range(self.p2p_base, self.p2p_base + n + 8))
        self.next_port = n
        p = subprocess.run([BIN, "testnet", "--validators", str(n), "--dir", self.dir,
                            "--p2p-port", str(self.p2p_base), "--rpc-port", str(self.rpc_base),
                            "--block-time", str(block_time), "--no-start"],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("testnet: " + p.stderr)
        self.nodes = [NetNode(self, f"node{i}", self.read_args(i)) for i in range(n)]

    def read_args(self, i):
        with open(os.path.join(self.dir, f"node{i}", "args")) as f:
            return [l for l in f.read().split("\n") if l]

    def genesis(self):
        return os.path.join(self.dir, "genesis.json")

    def spare_ports(self):
        """A (p2p, rpc) port pair for an extra node."""
        i = self.next_port
        self.next_port += 1
        return self.p2p_base + i, self.rpc_base + i

    def peers_arg(self, nodes):
        return ",".join(f"127.0.0.1:{n.p2p_port()}" for n in nodes)

    def extra_node(self, name, validator_key=None, peers=None):
        """A node outside the genesis set layout: its own data dir and ports."""
        p2p, rpc = self.spare_ports()
        data = os.path.join(self.dir, name, "data")
        os.makedirs(data, mode=0o700)
        args = ["node", "--genesis", self.genesis(), "--data", data,
                "--p2p", f"127.0.0.1:{p2p}", "--rpc", f"127.0.0.1:{rpc}",
                "--block-time", self.nodes[0].args[self.nodes[0].args.index("--block-time") + 1],
                "--peers", self.peers_arg(peers if peers is not None else self.nodes)]
        if validator_key:
            args += ["--validator-key", validator_key]
        return NetNode(self, name, args)

    def start(self, nodes=None):
        for n in nodes or self.nodes:
            n.start()

    def cleanup(self):
        """Stops the nodes; on a failure (or an exception) keeps the directory and shows the
        end of each node's log."""
        import sys as _sys
        broken = failures or _sys.exc_info()[0] is not None
        for n in self.nodes:
            alive = n.proc is not None and n.proc.poll() is None
            code = n.stop()
            if broken or (code not in (0, None) and alive):
                print(f"--- {n.name} (exit {code}, log {n.log_path}):\n{n.tail(15)}", flush=True)
        if broken:
            print(f"kept {self.tmp}", flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def uleb_encode(n):
    """LEB128, as the node's binary routes frame lengths."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def uleb_decode(b, i):
    """Reads a LEB128 at b[i]; returns (value, index after it)."""
    v, shift = 0, 0
    while True:
        v |= (b[i] & 0x7F) << shift
        shift += 7
        i += 1
        if b[i - 1] < 0x80:
            return v, i


def feed_batch_parse(answer):
    """A POST /feeds answer (head u64 | n u16 | (uleb len | feed)*n) -> (head, [feed bytes]);
    raises ValueError unless the feeds end exactly at the end of the answer."""
    head, n = struct.unpack_from("<QH", answer)
    feeds, i = [], 10
    for _ in range(n):
        flen, i = uleb_decode(answer, i)
        feeds.append(answer[i:i + flen])
        i += flen
    if i != len(answer):
        raise ValueError("bytes after the last feed")
    return head, feeds


def feed_batch_build(head, feeds):
    return struct.pack("<QH", head, len(feeds)) + b"".join(uleb_encode(len(f)) + f for f in feeds)


def heads(nodes):
    return [n.rpc("chain_info")["height"] for n in nodes]


def wait_all_height(nodes, h, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if min(heads(nodes)) >= h:
            return True
        time.sleep(0.1)
    return False


def check_agreement(nodes, what, start=1):
    """Every node holds the same block hash and state root at every height they all have.
    Returns the common height."""
    top = min(heads(nodes))
    bad = []
    for h in range(start, top + 1):
        seen = {(x["hash"], x["state_root"]) for x in (n.rpc("header_get", h) for n in nodes)}
        if len(seen) != 1:
            bad.append(h)
    check(not bad and top >= start,
          f"{what}: {len(nodes)} nodes agree on blocks {start}..{top}" +
          (f" (differ at {bad[:5]})" if bad else ""))
    return top


class Proxy:
    """A TCP forwarder 127.0.0.1:port -> 127.0.0.1:target that can be cut (every connection
    closed, new ones refused) and healed, to partition nodes without root."""

    def __init__(self, target):
        import threading
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []
        self.is_cut = False
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                dst.sendall(b)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self):
        import threading
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.is_cut:
                c.close()
                continue
            try:
                t = socket.create_connection(("127.0.0.1", self.target), timeout=2)
                t.settimeout(None)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, t]
            threading.Thread(target=self._pump, args=(c, t), daemon=True).start()
            threading.Thread(target=self._pump, args=(t, c), daemon=True).start()

    def cut(self):
        self.is_cut = True
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.conns = []

    def heal(self):
        self.is_cut = False

    def close(self):
        self.closed = True
        self.cut()
        self.sock.close()


def proxy_mesh(net):
    """Routes every node-to-node connection of net through its own Proxy; returns
    {(i, j): proxy i uses to reach j}. Call before starting the nodes."""
    nodes = net.nodes
    proxies = {}
    for i, a in enumerate(nodes):
        peers = a.args[a.args.index("--peers") + 1].split(",")
        out = []
        for entry in peers:
            key, addr = entry.split("@")
            port = int(addr.rsplit(":", 1)[1])
            j = next(k for k, b in enumerate(nodes) if b.p2p_port() == port)
            proxies[(i, j)] = Proxy(port)
            out.append(f"{key}@127.0.0.1:{proxies[(i, j)].port}")
        a.set_arg("--peers", ",".join(out))
    return proxies


def partition(proxies, group):
    """Cuts every link between group and the rest; heals every other link."""
    for (i, j), p in proxies.items():
        if (i in group) != (j in group):
            p.cut()
        else:
            p.heal()


# ---- workers (tenebra worker, run by the test binary tenebra-test) ---------------------------

TEST_BIN = os.path.join(BUILD, "tenebra-test") if BUILD else None


class Worker:
    """A `tenebra-test worker` process on a node (or any URL) with its own data dir and port."""

    def __init__(self, node_url, data_dir, operator="bob", extra=None, port=None, bin=None):
        self.bin = bin or TEST_BIN  # tenebra-test (the counter contract too) unless told
        self.node_url = node_url
        self.data_dir = data_dir
        self.operator = operator
        self.extra = extra or []
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log_path = data_dir.rstrip("/") + ".log"

    def start(self):
        self.log = open(self.log_path, "ab")
        argv = [self.bin, "worker", "--node", self.node_url, "--data", self.data_dir,
                "--listen", f"127.0.0.1:{self.port}", "--operator", self.operator] + self.extra
        self.started_at = time.time()
        self.proc = spawn(argv, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def status(self):
        try:
            with urllib.request.urlopen(self.url + "/status", timeout=5) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, ConnectionError, OSError):
            return None

    def wait(self, pred, timeout=30, what="worker condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.status()
            if st is not None and pred(st):
                return st
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return None

    def query_raw(self, body):
        """POSTs body to /query; returns (http status, bytes)."""
        req = urllib.request.Request(self.url + "/query", data=body,
                                     headers={"Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def tail(self, n=20):
        return log_tail(self.log_path, n)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()

    def kill(self):
        self.stop(signal.SIGKILL)


# ---- tenebra dev with its worker, the CLI in --json, scanning public data (issue 5) ---------

def test_seed():
    """The run's random seed: TENEBRA_TEST_SEED replays one; printed so a failure can be."""
    s = os.environ.get("TENEBRA_TEST_SEED")
    seed = int(s, 0) if s else int.from_bytes(os.urandom(4), "little")
    print(f"random seed = {seed} (set TENEBRA_TEST_SEED to replay)", flush=True)
    return seed


class CliResult:
    """One CLI run: exit code, stdout parsed as JSON (None if it is not), stdout, stderr."""

    def __init__(self, argv, code, stdout, stderr):
        self.argv = argv
        self.code = code
        self.stdout = stdout
        self.err = stderr.strip()
        try:
            self.out = json.loads(stdout) if stdout.strip() else None
        except json.JSONDecodeError:
            self.out = None

    @property
    def ok(self):
        return self.code == 0 and self.out is not None

    def __repr__(self):
        return (f"`tenebra {' '.join(self.argv)}` -> exit {self.code}, stderr "
                f"{self.err[-300:]!r}, stdout {self.stdout.strip()[-300:]!r}")


class Dev(Node):
    """`tenebra dev` with its in-process worker: a fresh home (TENEBRA_HOME: the data dir and a
    keystore for extra keys, all with one password), the node and the worker on free ports."""

    PASSWORD = "dark wallet test"

    def __init__(self, block_time=200, home=None):
        self.home = home or tempfile.mkdtemp(prefix="tn-dev-")
        super().__init__(data_dir=os.path.join(self.home, "dev"), block_time=block_time,
                         cmd="dev", env={"TENEBRA_HOME": self.home})
        self.tmp = self.home
        self.worker_port = free_port_block(1, avoid=(self.port,))
        self.worker_url = None

    def argv(self):
        return super().argv() + ["--worker", f"127.0.0.1:{self.worker_port}"]

    def start(self, timeout=60):
        """Starts dev and waits until its worker answers /status."""
        try:
            self.log_offset = os.path.getsize(self.log_path)
        except OSError:
            self.log_offset = 0
        super().start(timeout)
        self.worker_url = f"http://127.0.0.1:{self.worker_port}"
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.worker_status() is not None:
                return self
            if "dev worker:" in self.log_since_start():
                raise RuntimeError("dev's worker did not start: " + self.tail())
            if self.proc.poll() is not None:
                raise RuntimeError(f"dev exited with {self.proc.returncode}: {self.tail()}")
            time.sleep(0.05)
        raise RuntimeError("dev's worker does not answer: " + self.tail())

    def log_since_start(self):
        """What dev logged since the last start."""
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            return f.read().decode(errors="replace")

    def cleanup(self):
        """Stops dev; keeps the home (and shows the log's end) after a failure."""
        broken = failures or sys.exc_info()[0] is not None
        self.stop()
        if broken:
            print(f"--- dev log {self.log_path}:\n{self.tail(30)}\nkept {self.home}", flush=True)
        else:
            shutil.rmtree(self.home, ignore_errors=True)

    def worker_status(self):
        try:
            with urllib.request.urlopen(self.worker_url + "/status", timeout=5) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            return None

    def tn(self, *args, timeout=240):
        """Runs `tenebra --rpc URL --json ARGS` with dev's home and the keystore password."""
        argv = ["--rpc", self.url, "--json"] + [str(a) for a in args]
        env = dict(os.environ, TENEBRA_HOME=self.home, TENEBRA_PASSWORD=self.PASSWORD)
        p = subprocess.run([BIN] + argv, capture_output=True, text=True, env=env,
                           timeout=timeout)
        return CliResult(argv[3:], p.returncode, p.stdout, p.stderr)

    def with_worker(self, group, *args):
        """`tenebra dark|token|contract ...` through dev's worker."""
        return self.tn(group, *args, "--worker", self.worker_url)

    def dark(self, *args):
        return self.with_worker("dark", *args)

    def token(self, *args):
        return self.with_worker("token", *args)

    def wait_contracts(self, codes=("balances", "assets"), timeout=120):
        """{code: contract_get object} once dev has deployed each code and its key is published
        (the first such contract of each code), or None after timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = {}
            for c in self.rpc("contract_list", 0, 1000)["contracts"]:
                if c["code"] in codes and c["code"] not in found and c.get("keys"):
                    found[c["code"]] = c
            if len(found) == len(codes):
                return found
            time.sleep(0.2)
        return None

    def new_key(self, name):
        """A keystore key (password PASSWORD): {"name","address","public_key",...}."""
        r = self.tn("key", "new", name)
        if not r.ok:
            raise RuntimeError(f"key new {name}: {r}")
        return r.out

    def account(self, who):
        """account_get of an address, hex key or dev name."""
        if who in DEV:
            who = dev_address(who)
        return self.rpc("account_get", who)

    def fees_paid(self, address, after, upto):
        """Sum of the fees of address's txs in blocks after..upto, and how many there were."""
        total, n = 0, 0
        for h in range(after + 1, upto + 1):
            for tx in self.rpc("block_get", h)["txs"]:
                if tx["sender"] == address:
                    total += int(tx["fee"])
                    n += 1
        return total, n


# SS58 (prefix 30, as the chain's addresses) and the dev accounts' keys, without the node.

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
SS58_PREFIX = 30


def _b58encode(b):
    n = int.from_bytes(b, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(b) - len(b.lstrip(b"\0"))) + out


def _b58decode(s):
    n = 0
    for ch in s:
        n = n * 58 + _B58.index(ch)
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(s) - len(s.lstrip("1"))) + body


def _ss58_checksum(data):
    import hashlib
    return hashlib.blake2b(b"SS58PRE" + data, digest_size=64).digest()[:2]


def ss58_encode(pk, prefix=SS58_PREFIX):
    data = bytes([prefix]) + bytes(pk)
    return _b58encode(data + _ss58_checksum(data))


def ss58_decode(addr, prefix=SS58_PREFIX):
    """The 32-byte key of an address; ValueError on a bad prefix, length or checksum."""
    raw = _b58decode(addr)
    if len(raw) != 35 or raw[0] != prefix or _ss58_checksum(raw[:33]) != raw[33:]:
        raise ValueError("not an SS58 address: " + addr)
    return raw[1:33]


_dev_pks = {}


def dev_pubkey(name):
    """A dev account's public key (`tenebra key show NAME`)."""
    if name not in _dev_pks:
        env = dict(os.environ, TENEBRA_HOME="/nonexistent")  # dev names, never a keystore
        out = subprocess.run([BIN, "--json", "key", "show", name], capture_output=True,
                             text=True, check=True, env=env, timeout=30).stdout
        _dev_pks[name] = bytes.fromhex(json.loads(out)["public_key"])
    return _dev_pks[name]


def dev_address(name):
    return ss58_encode(dev_pubkey(name))


def u128_le(v):
    return int(v).to_bytes(16, "little")


def pha_text(units):
    """Units as decimal PHA text with trailing zeros trimmed ("12.5", "3")."""
    whole, frac = divmod(int(units), PHA)
    return f"{whole}.{frac:012d}".rstrip("0").rstrip(".") if frac else str(whole)


# ---- scanning everything public for secrets --------------------------------------------------

def account_needles(label, pk):
    """The forms an account key takes in public data: raw bytes, hex in both cases, SS58."""
    pk = bytes(pk)
    return {f"{label} raw": pk, f"{label} hex": pk.hex().encode(),
            f"{label} HEX": pk.hex().upper().encode(), f"{label} ss58": ss58_encode(pk).encode()}


def amount_needles(label, units, decimals=12):
    """The forms an amount takes: u128 little-endian (whole, and its significant bytes when they
    are distinctive), as hex in both cases, decimal units, and decimal text with decimals."""
    le = u128_le(units)
    forms = {f"{label} u128": le}
    sig = le.rstrip(b"\0")
    if len(sig) >= 5:
        forms[f"{label} le-bytes"] = sig
    for k, v in list(forms.items()):
        forms[k + " hex"] = v.hex().encode()
        forms[k + " HEX"] = v.hex().upper().encode()
    forms[f"{label} units"] = str(int(units)).encode()
    whole, frac = divmod(int(units), 10 ** decimals)
    text = f"{whole}.{frac:0{decimals}d}".rstrip("0").rstrip(".") if frac else str(whole)
    forms[f"{label} text"] = text.encode()
    return forms


def _http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        return e.read()
    except (urllib.error.URLError, ConnectionError, OSError) as e:
        return f"unreachable: {e}".encode()


def _post_raw(url, body, ctype="application/octet-stream"):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        return e.read()


def public_blobs(node, worker_url=None, txids=(), accounts=(), files=(), dirs=()):
    """Everything an outsider (or the node's and worker's operator) sees: every block (JSON, with
    its txs decoded and raw), every feed (header, commit and the outbound messages and events, as
    the binary POST /feeds and as chain_feed JSON), the answers of the read-only RPCs, the worker's
    status, the named files (logs) and every file under dirs (the data directories). Returns
    [(name, bytes)]."""
    blobs = []

    def rpc(method, *params):
        try:
            res = node.rpc(method, *params)
        except RpcError as e:
            res = {"error": e.message}
        blobs.append((f"{method}{list(params)}", json.dumps(res).encode()))
        return res

    head = rpc("chain_info")["height"]
    for h in range(1, head + 1):
        for tx in rpc("block_get", h)["txs"]:
            rpc("tx_get", tx["txid"])
            rpc("tx_status", tx["txid"])
    for start in range(1, head + 1, 64):
        blobs.append((f"POST /feeds {start}",
                      _post_raw(node.url + "/feeds", struct.pack("<QH", start, 64))))
        rpc("chain_feed", start, 64)
    for txid in txids:
        rpc("tx_status", txid)
        rpc("tx_get", txid)
    for a in accounts:
        rpc("account_get", a, True)
    for method in ("chain_genesis", "mempool_status", "net_info", "evidence_reported",
                   "registry_policy"):
        rpc(method)
    rpc("registry_info", 0)
    workers = rpc("worker_list", 0, 1000)
    for w in workers.get("workers", []):
        rpc("worker_get", w["identity"])
        rpc("mq_sequence", "worker:" + w["identity"])
        rpc("mq_sequence", "gatekeeper:" + w["identity"])
    for c in rpc("contract_list", 0, 1000).get("contracts", []):
        rpc("contract_get", c["id"])
        rpc("mq_sequence", "contract:" + c["id"])
        if c.get("custody"):
            rpc("account_get", c["custody"]["address"], True)
    for origin in ("cluster:0", "module:contracts", "module:balances"):
        rpc("mq_sequence", origin)
    for path in ("/health", "/metrics"):
        blobs.append((path, _http_get(node.url + path)))
    if worker_url:
        blobs.append(("worker /status", _http_get(worker_url + "/status")))
        blobs.append(("worker /health", _http_get(worker_url + "/health")))
        blobs.append(("worker worker_status", _post_raw(
            worker_url + "/", json.dumps({"jsonrpc": "2.0", "id": 1, "method": "worker_status",
                                          "params": []}).encode(), "application/json")))
    paths = list(files)
    for d in dirs:
        for root, _, names in os.walk(d):
            paths += [os.path.join(root, n) for n in names]
    for p in paths:
        try:
            with open(p, "rb") as f:
                blobs.append((p, f.read()))
        except OSError:
            pass
    return blobs


def scan(blobs, needles):
    """[(blob name, needle name)] for every needle found in a blob."""
    return [(name, label) for name, data in blobs for label, needle in needles.items()
            if needle in data]


# ---- the chain's message queue seen from outside: outbound lists and mq.push txs ------------

MQ_ORIGINS = {0: "worker", 1: "contract", 2: "gatekeeper", 3: "cluster", 4: "module"}
FEED_HEADER_LEN = 1 + 8 + 8 + 9 * 32  # chain/block.h HEADER_LEN


def _bytes_field(b, i):
    n, i = uleb_decode(b, i)
    if i + n > len(b):
        raise ValueError("a length runs past the end")
    return b[i:i + n], i + n


def mq_message_read(b, i=0):
    """Decodes one message at b[i] (chain/mq.h: origin ‖ bytes(topic) ‖ bytes(payload) ‖
    sequence u64); returns ({"origin": kind name, "id": hex | cluster int | module name,
    "topic": str, "payload": bytes, "sequence": int}, index after it)."""
    kind = MQ_ORIGINS.get(b[i])
    if kind is None:
        raise ValueError(f"bad origin kind {b[i]}")
    i += 1
    if kind == "cluster":
        oid, i = struct.unpack_from("<I", b, i)[0], i + 4
    elif kind == "module":
        name, i = _bytes_field(b, i)
        oid = name.decode()
    else:
        oid, i = b[i:i + 32].hex(), i + 32
    topic, i = _bytes_field(b, i)
    payload, i = _bytes_field(b, i)
    seq = struct.unpack_from("<Q", b, i)[0]
    return {"origin": kind, "id": oid, "topic": topic.decode(), "payload": payload,
            "sequence": seq}, i + 8


def feed_messages(feed):
    """The outbound messages of one block feed (docs/protocol/worker.md "Block feed": header ‖
    bytes(commit) ‖ has_next_set bool ‖ [bytes(next set)] ‖ uleb n ‖ n × bytes(message))."""
    _, i = _bytes_field(feed, FEED_HEADER_LEN)
    has_next, i = feed[i], i + 1
    if has_next:
        _, i = _bytes_field(feed, i)
    n, i = uleb_decode(feed, i)
    out = []
    for _ in range(n):
        raw, i = _bytes_field(feed, i)
        msg, end = mq_message_read(raw)
        if end != len(raw):
            raise ValueError("bytes after a message")
        out.append(msg)
    if i != len(feed):
        raise ValueError("bytes after the feed's messages")
    return out


def outbound_messages(node, first, last):
    """[(height, message)] of the blocks first..last, from the node's binary POST /feeds."""
    found = []
    h = first
    while h <= last:
        answer = _post_raw(node.url + "/feeds", struct.pack("<QH", h, min(64, last - h + 1)))
        _, feeds = feed_batch_parse(answer)
        if not feeds:
            break
        for f in feeds:
            found += [(h, m) for m in feed_messages(f)]
            h += 1
    return found


def mq_push_messages(payload):
    """The signed messages an mq.push payload carries (uleb n ‖ n × (message ‖ signature [64])):
    [(message, signature bytes)]."""
    n, i = uleb_decode(payload, 0)
    out = []
    for _ in range(n):
        msg, i = mq_message_read(payload, i)
        out.append((msg, payload[i:i + 64]))
        i += 64
    if i != len(payload):
        raise ValueError("bytes after the last signed message")
    return out


def mq_pushes(node, first, last):
    """[(height, tx_get of the tx, [(message, signature)])] of every mq.push in blocks
    first..last."""
    found = []
    for h in range(first, last + 1):
        for tx in node.rpc("block_get", h)["txs"]:
            if tx["call"] == "mq.push":
                full = node.rpc("tx_get", tx["txid"])
                found.append((h, full, mq_push_messages(bytes.fromhex(full["args"]["payload"]))))
    return found
