"""Workers end to end (issue 4; docs/operator.md "Running a worker"), with real processes: a dev
node and `tenebra-test worker` processes (tenebra plus the test counter contract).

Registration, gatekeeper election, master and cluster keys, a counter contract deployed and its key
published, an encrypted command that changes its state and a query that reads it; a second worker
that joins the cluster and answers the same query; refusals (tampered ciphertext, replayed
command, query signed for another account, expired query, egress with a wrong sequence or
signature, a stale report, a measurement the policy does not list, forged feeds from a lying
relay); restart from a checkpoint after SIGKILL, timed on a chain of TN_WORKER_CHAIN_BLOCKS blocks
(default 2000; the issue's figure is 10000)."""
import http.server
import json
import struct
import threading

from tnlib import *

CHAIN_BLOCKS = int(os.environ.get("TN_WORKER_CHAIN_BLOCKS", "2000"))
HEADER_LEN = 1 + 8 + 8 + 9 * 32
STATE_ROOT_AT = 1 + 8 + 8 + 4 * 32
tmp = tempfile.mkdtemp(prefix="tn-worker-")
procs = []


def cli(node, *args, bin=None):
    """Runs `tenebra-test --rpc NODE --json ARGS`; returns (code, parsed JSON or None, stderr)."""
    p = subprocess.run([bin or TEST_BIN, "--rpc", node.url, "--json"] + list(args),
                       capture_output=True, text=True, timeout=120)
    try:
        out = json.loads(p.stdout) if p.stdout.strip() else None
    except json.JSONDecodeError:
        out = None
    return p.returncode, out, p.stderr.strip()


def wait_for(fn, timeout=30, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return None


def query(node, w, cid, text, frm="bob", expect_ok=True):
    code, out, err = cli(node, "contract", "query", cid, "--text", text, "--from", frm,
                         "--worker", w.url)
    if expect_ok and code != 0:
        print("query failed:", err)
    return out if code == 0 else None


def find_txs(node, call, sender=None):
    """Every included tx of `call` (with raw bytes and payload), oldest first."""
    head = node.rpc("chain_info")["height"]
    found = []
    for h in range(1, head + 1):
        for tx in node.rpc("block_get", h)["txs"]:
            if tx["call"] == call and (sender is None or tx["sender"] == sender):
                found.append(node.rpc("tx_get", tx["txid"]))
    return found


def account_of(node, name):
    code, out, _ = cli(node, "balance", name)
    return out if code == 0 else {}


# ---- a relay that lies: forwards JSON-RPC to the node and tampers with chain_feed ------------

class LyingRelay:
    """A host between the worker and the node that lies about blocks. modes: pass; header (flip a
    state_root byte: a forged block); commit (flip a signature byte: a bad commit); skip (serve
    from one block later: a gap); replay (one block earlier). JSON-RPC passes through; the
    feeds (POST /feeds: from u64 | count u16 -> head u64 | n u16 | (uleb len | feed)*n) are
    where it lies."""

    def __init__(self, node):
        self.node = node
        self.mode = "pass"
        relay = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ctype = self.headers["Content-Type"]
                if self.path == "/feeds":
                    status, resp, ctype = relay.feeds(body)
                else:
                    status, resp = 200, relay.node.post(body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(resp)))
                self.end_headers()
                self.wfile.write(resp)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def feeds(self, body):
        mode = self.mode
        start, count = struct.unpack("<QH", body)
        if mode in ("skip", "replay"):
            start += 1 if mode == "skip" else -1
        req = urllib.request.Request(self.node.url + "/feeds", struct.pack("<QH", start, count),
                                     {"Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                resp = r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read(), "application/json"
        if mode in ("header", "commit"):
            head, feeds = feed_batch_parse(resp)
            resp = feed_batch_build(head, [self.tamper(f, mode) for f in feeds])
        return 200, resp, "application/octet-stream"

    @staticmethod
    def tamper(feed, mode):
        b = bytearray(feed)
        if mode == "header":
            b[STATE_ROOT_AT] ^= 1
        else:  # the last byte of the commit: inside its last signature
            n, i = uleb_decode(b, HEADER_LEN)
            b[i + n - 1] ^= 1
        return bytes(b)

    def close(self):
        self.server.shutdown()


# ---- the main chain: registration, gatekeeper, contract, command, query ---------------------

node = Node(data_dir=os.path.join(tmp, "node", "data"), block_time=100)
os.makedirs(os.path.dirname(node.data_dir), exist_ok=True)
node.start()
w1 = Worker(node.url, os.path.join(tmp, "w1"), operator="bob",
            extra=["--checkpoint-every", "20"]).start()
procs.append(w1)
st = w1.wait(lambda s: s["registered"], timeout=30)
check(st is not None, "worker 1 registers on chain: " + (str(st) if st else w1.tail()))
check(st and st["backend"] == "sim" and st["hardware_protected"] is False and "NOT" in
      st.get("warning", ""), "status says sim and not hardware-protected")
w1id = st["identity"] if st else "00" * 32
code, out, _ = cli(node, "worker", "show", w1id)
check(code == 0 and out["identity"] == w1id and out["backend"] == "sim" and
      out["hardware_protected"] is False, "worker show reads the registration from the chain")
code, out, _ = cli(node, "worker", "list")
check(code == 0 and any(w["identity"] == w1id for w in out["workers"]), "worker list has it")

for args in (["add-gatekeeper", w1id], ["create-cluster", "0"], ["assign-worker", w1id, "0"]):
    code, out, err = cli(node, "registry", *args, "--from", "alice")
    check(code == 0 and out["success"], f"registry {args[0]} by sudo ({err})")
info = wait_for(lambda: (lambda i: i if i["master_key"]["published"] and i["cluster"] and
                         i["cluster"]["keys"] else None)(node.rpc("registry_info", 0)))
check(info is not None, "the gatekeeper publishes the master key and cluster 0's keys")
st = w1.wait(lambda s: s["gatekeeper"] and s["cluster"] == 0)
check(st is not None, "worker 1 knows it is gatekeeper and in cluster 0")
code, out, _ = cli(node, "worker", "status", "--worker", w1.url)
check(code == 0 and out["gatekeeper"] is True and out["registration"] == "registered",
      "tenebra worker status reads the worker's /status")

code, out, err = cli(node, "contract", "deploy", "test.counter", "--cluster", "0", "--from",
                     "bob")
check(code == 0 and out["success"], f"deploy the counter contract ({err})")
cid = out["contract"] if out else "00" * 32
shown = wait_for(lambda: (lambda r: r[1] if r[0] == 0 and r[1]["keys"] else None)(
    cli(node, "contract", "show", cid)))
check(shown is not None and len(shown["keys"]["x25519"]) == 64 and shown["code"] ==
      "test.counter", "contract show: the gatekeeper published the contract's keys")
w1.wait(lambda s: s["contracts"] >= 1)

code, cmd, err = cli(node, "contract", "command", cid, "--text", "add 5", "--from", "bob")
check(code == 0 and cmd["success"], f"an encrypted command is ordered ({err})")
ans = wait_for(lambda: (lambda a: a if a and a["u64"] == "5" else None)(
    query(node, w1, cid, "get total")))
check(ans is not None and ans["result"] == 0, "a query answers the new state: total 5")
ans = query(node, w1, cid, "get mine", frm="bob")
check(ans is not None and ans["u64"] == "5", "the query's origin is the signing account (bob: 5)")
ans = query(node, w1, cid, "get mine", frm="charlie")
check(ans is not None and ans["u64"] == "0", "another account's counter is 0")

# ---- a second worker joins the cluster after the command: it rebuilds the state ---------------

w2 = Worker(node.url, os.path.join(tmp, "w2"), operator="charlie").start()
procs.append(w2)
st = w2.wait(lambda s: s["registered"], timeout=30)
check(st is not None, "worker 2 registers")
w2id = st["identity"] if st else "00" * 32
code, out, err = cli(node, "registry", "assign-worker", w2id, "0", "--from", "alice")
check(code == 0, f"worker 2 assigned to cluster 0 ({err})")
st = w2.wait(lambda s: s["cluster"] == 0 and s["has_cluster_key"] and s["contracts"] >= 1,
             timeout=30)
check(st is not None and st["contracts_unavailable"] == 0,
      "worker 2 receives the cluster key and hosts the contract")
ans = wait_for(lambda: (lambda a: a if a and a["u64"] == "5" else None)(
    query(node, w2, cid, "get total", expect_ok=False)))
check(ans is not None, "worker 2 answers the same query with the same state (total 5)")
ans = query(node, w2, cid, "get mine", frm="bob")
check(ans is not None and ans["u64"] == "5", "worker 2 has bob's counter too")
code, out, err = cli(node, "contract", "command", cid, "--text", "add 3", "--from", "bob")
check(code == 0 and out["success"], f"a later command is ordered ({err})")
both = wait_for(lambda: all((lambda a: a and a["u64"] == "8")(query(node, w, cid, "get total",
                                                                    expect_ok=False))
                            for w in (w1, w2)) or None)
check(both is not None, "both workers apply the later command: total 8")

# ---- refusals of commands ----------------------------------------------------------------------


def push_payload(ct_hex):
    ct = bytes.fromhex(ct_hex)
    n, lenb = len(ct), b""
    while True:
        b = n & 0x7F
        n >>= 7
        lenb += bytes([b | (0x80 if n else 0)])
        if not n:
            break
    return (bytes.fromhex(cid) + lenb + ct).hex()


ct = cmd["ciphertext"] if cmd else "00"
bad = bytearray(bytes.fromhex(ct))
bad[-1] ^= 1
code, out, err = cli(node, "call", "contracts.push_command", push_payload(bad.hex()), "--from",
                     "bob")
check(code == 0, f"a tampered ciphertext is ordered by the chain (it cannot read it) ({err})")
code, out, err = cli(node, "call", "contracts.push_command", push_payload(ct), "--from", "bob")
check(code == 0, f"a replayed ciphertext is ordered under a new nonce ({err})")
code, out, err = cli(node, "call", "contracts.push_command", push_payload(ct), "--from",
                     "charlie")
check(code == 0, f"a ciphertext copied into another account's tx is ordered ({err})")
node.wait_height(node.rpc("chain_info")["height"] + 3)
ans = query(node, w1, cid, "get total")
check(ans is not None and ans["u64"] == "8",
      "tampered, replayed and copied commands change nothing (total still 8)")

# ---- refusals of queries -----------------------------------------------------------------------

env_path = os.path.join(tmp, "q.bin")


def envelope(*extra, frm="bob"):
    code, _, err = cli(node, "contract", "query", cid, "--text", "get total", "--from", frm,
                       "--envelope-out", env_path, *extra)
    with open(env_path, "rb") as f:
        return bytearray(f.read()) if code == 0 else bytearray()


q = envelope()
status, _ = w1.query_raw(bytes(q))
check(status == 200, "the untouched envelope is answered")
alice_pk = bytes.fromhex(account_of(node, "alice")["public_key"])
forged = bytearray(q)
forged[36:68] = alice_pk  # claims alice while bob signed
status, body = w1.query_raw(bytes(forged))
check(status == 403 and b"signature" in body, f"a query claiming another account: {status}")
forged = bytearray(q)
forged[-1] ^= 1
status, body = w1.query_raw(bytes(forged))
check(status == 403 and b"signature" in body, f"a query with a broken signature: {status}")
forged = bytearray(q)
forged[-70] ^= 1  # inside the HPKE ciphertext (re-signing is impossible without bob's key)
status, body = w1.query_raw(bytes(forged))
check(status in (400, 403), f"a query with a modified envelope is refused: {status}")
q = envelope("--expiry", "1")
node.wait_height(node.rpc("chain_info")["height"] + 3)
w1.wait(lambda s: s["synced_height"] >= node.rpc("chain_info")["height"] - 1)
status, body = w1.query_raw(bytes(q))
check(status == 403 and b"expired" in body, f"an expired query is refused: {status} {body[:80]}")
status, body = w1.query_raw(b"\x01\x03\x00" + b"\x00" * 10)
check(status == 400, f"garbage is refused with 400: {status}")
status, body = w1.query_raw(b"\x00" * (300 * 1024))
check(status == 413, f"an oversized body is refused with 413: {status}")

# ---- egress with a wrong sequence or signature (submitted by hand) ---------------------------

pushes = find_txs(node, "mq.push")
check(len(pushes) >= 3, f"the worker relayed its egress as mq.push txs ({len(pushes)})")
if pushes:
    payload = pushes[0]["args"]["payload"]
    code, out, err = cli(node, "call", "mq.push", payload, "--from", "charlie")
    check(code != 0 and "sequence" in err, f"a resubmitted egress message: wrong sequence ({err})")
    b = bytearray(bytes.fromhex(payload))
    b[-1] ^= 1
    code, out, err = cli(node, "call", "mq.push", b.hex(), "--from", "charlie")
    check(code != 0 and "signature" in err, f"an egress message with a bad signature ({err})")

# ---- a lying relay: forged blocks and bad commits are refused, the worker does not move --------

relay = LyingRelay(node)
w3 = Worker(relay.url, os.path.join(tmp, "w3"), operator="dave").start()
procs.append(w3)
st = w3.wait(lambda s: s["synced_height"] >= node.rpc("chain_info")["height"] - 2, timeout=30)
check(st is not None, "worker 3 syncs through the relay")
for mode, why in (("header", "commit"), ("commit", "commit"), ("skip", "follow"),
                  ("replay", "at or below")):
    relay.mode = mode
    time.sleep(0.5)
    before = w3.status()
    time.sleep(1.5)
    after = w3.status()
    check(before and after and after["synced_height"] == before["synced_height"] and
          after["feeds_refused"] > before["feeds_refused"] and why in after["last_error"] and
          node.rpc("chain_info")["height"] > after["synced_height"] + 5,
          f"lying relay ({mode}): refused, not advanced "
          f"({after and after['last_error']})")
relay.mode = "pass"
st = w3.wait(lambda s: s["synced_height"] >= node.rpc("chain_info")["height"] - 2, timeout=30)
check(st is not None and st["last_error"] == "", "with honest feeds again it catches up")
w3.stop()
relay.close()

# ---- restart from a checkpoint after SIGKILL --------------------------------------------------

q = envelope("--expiry", "10000")  # sealed before the kill, posted as soon as the port opens
w1.kill()
w1.start()
t0 = w1.started_at
answered = wait_for(lambda: w1.query_raw(bytes(q))[0] == 200 if w1.status() else None,
                    timeout=20, step=0.005)
took = time.time() - t0
check(answered, "after SIGKILL the worker restarts from its checkpoint and answers")
print(f"restart after SIGKILL (chain of {node.rpc('chain_info')['height']} blocks, checkpoint "
      f"every 20): answering queries {took:.3f} s after the process started", flush=True)
check(took < 1.0, f"answering within a second ({took:.3f} s)")
ans = query(node, w1, cid, "get total")
check(ans is not None and ans["u64"] == "8", "with the same state (total 8)")
st = w1.wait(lambda s: s["registration"] == "registered")
check(st and st["identity"] == w1id, "same identity, its registration found on chain")

# ---- policy refusals: a stale report (sudo sets max_report_age 2) ----------------------------

regs = find_txs(node, "registry.register_worker", sender=account_of(node, "bob")["address"])
check(len(regs) == 1, f"worker 1 registered once, also across its restart ({len(regs)})")


def policy_hex(any_measurement, measurements, max_age):
    dev_key = "97efc5da26bd0f983aba16ac3e0cd651d5c2e62dde9009d7e3fdd464b72c1565"
    b = bytes([1, 1 << 1, 1 if any_measurement else 0, len(measurements)])
    b += b"".join(bytes.fromhex(m) for m in measurements)
    b += bytes([1]) + bytes.fromhex(dev_key) + struct.pack("<Q", max_age) + bytes([128])
    return b.hex()


code, out, err = cli(node, "call", "registry.set_policy", policy_hex(True, [], 2), "--from",
                     "alice")
check(code == 0, f"sudo sets a policy with max_report_age 2 ({err})")
if regs:
    code, out, err = cli(node, "call", "registry.register_worker", regs[0]["args"]["payload"],
                         "--from", "bob")
    check(code != 0 and "max_report_age" in err, f"an old report is refused as stale ({err})")

# ---- a measurement the policy does not list ---------------------------------------------------

code, out, err = cli(node, "call", "registry.set_policy", policy_hex(False, ["11" * 32], 600),
                     "--from", "alice")
check(code == 0, f"sudo sets a policy listing another measurement ({err})")
w4 = Worker(node.url, os.path.join(tmp, "w4"), operator="eve").start()
procs.append(w4)
st = w4.wait(lambda s: s["registration"].startswith("refused"), timeout=30)
check(st is not None and "measurement" in st["registration"],
      f"a worker whose measurement is not listed is refused ({st and st['registration']})")
code, _, _ = cli(node, "worker", "show", st["identity"] if st else "00" * 32)
check(code != 0, "and the chain holds no record of it")
w4.stop()

for p in procs:
    p.stop()

# ---- a long chain: sync from genesis and restart timing --------------------------------------

long_node = Node(data_dir=os.path.join(tmp, "long", "data"), block_time=10)
os.makedirs(os.path.dirname(long_node.data_dir), exist_ok=True)
long_node.start()
check(long_node.wait_height(CHAIN_BLOCKS, timeout=CHAIN_BLOCKS / 10 + 60),
      f"a dev chain of {CHAIN_BLOCKS} blocks")
long_node.stop()
long_node.block_time = 1000
long_node.start()
head = long_node.rpc("chain_info")["height"]
w5 = Worker(long_node.url, os.path.join(tmp, "w5"), operator="ferdie",
            extra=["--checkpoint-every", "1000"]).start()
procs.append(w5)
t0 = time.time()
st = w5.wait(lambda s: s["synced_height"] >= head, timeout=300)
took = time.time() - t0
check(st is not None, f"a new worker syncs {head} blocks from genesis")
print(f"sync from genesis: {head} blocks in {took:.2f} s ({head / took:.0f} blocks/s through "
      f"the node's POST /feeds)", flush=True)
w5.wait(lambda s: s["checkpoint_height"] >= head - head % 1000)
w5.kill()
w5.start()
t0 = w5.started_at
st = w5.wait(lambda s: s["synced_height"] >= long_node.rpc("chain_info")["height"] - 1,
             timeout=30)
took = time.time() - t0
check(st is not None and took < 1.0,
      f"restart after SIGKILL on a chain of {head} blocks: synced in {took:.3f} s")
print(f"restart after SIGKILL on a chain of {head} blocks: checkpoint at "
      f"{st and st['checkpoint_height']}, synced again in {took:.3f} s", flush=True)
w5.stop()
long_node.stop()

node.stop()
bad = []
for root, _, files in os.walk(tmp):
    for f in files:
        if f.endswith(".log") and f.startswith("w"):  # the workers' (node: test_crash etc.)
            with open(os.path.join(root, f), errors="replace") as fh:
                text = fh.read()
            if "Sanitizer" in text or "runtime error:" in text:
                bad.append(f)
check(not bad, f"no sanitizer reports in the workers' logs {bad}")
if not bad:
    shutil.rmtree(tmp, ignore_errors=True)
finish()
