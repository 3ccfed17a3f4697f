"""The operator path of docs/operator.md: a validator key made with `tenebra key new`, a genesis
naming it, `tenebra node --genesis --validator-key` with the password from the environment; and
its refusals: wrong password, another chain's data directory; and a key outside the validator set,
which runs as a full node (it would validate once a set change adds it)."""
import json
import subprocess

from tnlib import *

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "genesis")
home = tempfile.mkdtemp(prefix="tn-op-")
env = {"TENEBRA_HOME": home}


def run(*args, password=None):
    e = dict(os.environ, **env)
    if password is not None:
        e["TENEBRA_PASSWORD"] = password
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True, env=e, timeout=120)
    return p.returncode, p.stdout, p.stderr


def genesis_with_validator(address, name):
    with open(os.path.join(VECTORS, "dev.json")) as f:
        g = json.load(f)
    g["chain_name"] = name
    g["validators"] = [{"name": "val", "public_key": address, "power": 1}]
    path = os.path.join(home, name + ".json")
    with open(path, "w") as f:
        json.dump(g, f)
    return path


def node_argv(genesis, data, key, port):
    return [BIN, "node", "--genesis", genesis, "--validator-key", key, "--data", data,
            "--rpc", f"127.0.0.1:{port}", "--block-time", "200"]


code, out, err = run("--json", "key", "new", "val", password="s3cret pass")
check(code == 0, f"key new val ({err.strip()})")
val = json.loads(out)
keyfile = os.path.join(home, "keys", "val.json")
genesis = genesis_with_validator(val["address"], "tenebra-op")
data = os.path.join(home, "data")

class ValidatorNode(Node):
    """A `tenebra node` on our genesis with our key (instead of --dev)."""

    def argv(self):
        return node_argv(genesis, self.data_dir, keyfile, self.port)


node = ValidatorNode(data_dir=data, env={"TENEBRA_VALIDATOR_PASSWORD": "s3cret pass"})
try:
    node.start()
    check(node.wait_height(2), "the validator produces blocks")
    info = node.rpc("chain_info")
    check(info["chain_name"] == "tenebra-op" and
          info["validators"][0]["address"] == val["address"], "chain_info names our validator")
    blk = node.rpc("block_get", 2)
    check(blk["header"]["proposer"] == val["public_key"] and
          blk["commit"]["signatures"][0]["validator"] == val["address"],
          "blocks are proposed and signed by our key")
    node.stop()
finally:
    node.stop()


def refused(argv, password, expect, what):
    e = dict(os.environ, **env)
    if password is not None:
        e["TENEBRA_VALIDATOR_PASSWORD"] = password
    p = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=60)
    last = p.stderr.strip().splitlines()[-1:] or [""]
    check(p.returncode != 0 and expect in last[0], f"{what}: refused ({last[0]})")


port = free_port()
refused(node_argv(genesis, data, keyfile, port), "wrong", "validator key", "wrong password")
code, out, _ = run("--json", "key", "new", "other", password="x")
other_key = os.path.join(home, "keys", "other.json")

class OtherNode(Node):
    def argv(self):
        return node_argv(genesis, self.data_dir, other_key, self.port)


other = OtherNode(data_dir=os.path.join(home, "d2"), env={"TENEBRA_VALIDATOR_PASSWORD": "x"})
try:
    other.start()
    cs = other.rpc("chain_info")["consensus"]
    check(not cs["validator"] and cs["validator_key"] == other.rpc("net_info")["consensus"]
          ["validator_key"], "a key outside the validator set runs as a full node")
    time.sleep(1)
    check(other.rpc("chain_info")["height"] == 0, "a lone full node produces nothing")
    check("not in the validator set" in other.tail(50), "the log says the key does not validate")
finally:
    other.stop()
genesis2 = genesis_with_validator(val["address"], "tenebra-other")
refused(node_argv(genesis2, data, keyfile, port), "s3cret pass", "holds chain",
        "another genesis on an existing data directory")
shutil.rmtree(home, ignore_errors=True)
finish()
