"""A worker killed before its first periodic checkpoint (checkpoint every 1000 blocks) keeps what
it showed the chain (src/worker/worker.h): its identity, sealed right after the enclave's first
start, and so a first gatekeeper's master key, which the enclave derives from its identity
seed."""
from tnlib import *

tmp = tempfile.mkdtemp(prefix="tn-wcrash-")
node = Node(data_dir=os.path.join(tmp, "node", "data"), block_time=100)
os.makedirs(os.path.dirname(node.data_dir), exist_ok=True)
node.start()


def registry(*args):
    p = subprocess.run([TEST_BIN, "--rpc", node.url, "--json", "registry"] + list(args) +
                       ["--from", "alice"], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"registry {args[0]} by sudo ({p.stderr.strip()})")


def wait_for(fn, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return None


w = Worker(node.url, os.path.join(tmp, "w"), operator="bob").start()
st = w.wait(lambda s: True, timeout=30)
w.kill()  # at once: long before block 1000, likely before it even registered
ident = st["identity"] if st else None
check(ident is not None, "the worker starts and shows its identity")
check(os.path.exists(os.path.join(w.data_dir, "checkpoint.sealed")),
      "a checkpoint exists right after the first start")
w.start()
st = w.wait(lambda s: s["registered"], timeout=30)
check(st is not None and st["identity"] == ident,
      "after SIGKILL the same identity comes back and registers")

registry("add-gatekeeper", ident)
info = wait_for(lambda: (lambda i: i if i["master_key"]["published"] else None)(
    node.rpc("registry_info")))
w.kill()  # as soon as the chain shows the master key
check(info is not None, "the gatekeeper publishes the master key")
master = info["master_key"]["pubkey"] if info else None
w.start()
check(w.wait(lambda s: s["gatekeeper"], timeout=30) is not None,
      "after SIGKILL the worker is the gatekeeper again")
registry("create-cluster", "0")
registry("assign-worker", ident, "0")
info = wait_for(lambda: (lambda i: i if i["cluster"] and i["cluster"]["keys"] else None)(
    node.rpc("registry_info", 0)))
check(info is not None and info["master_key"]["pubkey"] == master,
      "the restarted gatekeeper still holds the published master key: it publishes cluster "
      "0's keys under it")
st = w.status()
check(st is not None and st["last_error"] == "", f"no refused egress ({st and st['last_error']})")

w.stop()
node.stop()
bad = []
for path in (w.log_path, node.log_path):
    with open(path, errors="replace") as f:
        text = f.read()
    if "ERROR: AddressSanitizer" in text or "runtime error:" in text:
        bad.append(path)
check(not bad, f"no sanitizer reports in the logs {bad}")
if any_failed():
    print(f"kept {tmp}\n--- worker:\n{w.tail(30)}", flush=True)
else:
    shutil.rmtree(tmp, ignore_errors=True)
finish()
