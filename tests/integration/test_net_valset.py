"""Validator-set changes while the network runs (validators.set_power, sudo = alice): a fifth
node that started as a full node with its own validator key is added and starts signing commits;
then validator 3 is removed and, still running, only follows. The set takes effect one block
after the change (header H names the new set in next_validators_hash; it signs H+1). All five
nodes agree on every block and state root; the chain keeps committing throughout."""
import json
import struct

from tnlib import *


def set_power(node, chain, nonce, pk_hex, power):
    payload = pk_hex + struct.pack("<Q", power).hex()
    hx, txid = txgen(**{"from": "alice", "chain": chain, "nonce": nonce, "valid-until": 4000,
                        "max-fee": 10 ** 12, "module": 2, "function": 0, "payload": payload})
    node.rpc("tx_submit", hx)
    st = node.wait_included(txid, 60)
    check(st is not None and st["success"],
          f"set_power({pk_hex[:8]}, {power}) is included and succeeds ({st})")
    return st["height"] if st else None


def signers(node, h):
    return {s["validator"] for s in node.rpc("block_get", h)["commit"]["signatures"]}


net = Testnet(n=4, block_time=300)
home = os.path.join(net.tmp, "home")
try:
    net.start()
    a = net.nodes[0]
    check(wait_all_height(net.nodes, 3, 60), "the network starts")
    chain = a.rpc("chain_info")["chain_id"]
    env = dict(os.environ, TENEBRA_HOME=home, TENEBRA_PASSWORD="pw")
    p = subprocess.run([BIN, "--json", "key", "new", "newval"], capture_output=True, text=True,
                       env=env, timeout=60)
    check(p.returncode == 0, f"key new ({p.stderr.strip()})")
    newval = json.loads(p.stdout)
    e = net.extra_node("newval", validator_key=os.path.join(home, "keys", "newval.json"))
    e.env = {"TENEBRA_VALIDATOR_PASSWORD": "pw"}
    net.nodes.append(e)
    e.start()
    check(e.wait_height(a.rpc("chain_info")["height"], 60), "the new node syncs as a full node")
    check(not e.rpc("chain_info")["consensus"]["validator"], "it does not validate yet")

    h = set_power(a, chain, 0, newval["public_key"], 1)
    check(wait_all_height(net.nodes, h + 3, 60), "the chain goes on after the addition")
    vals = [v["address"] for v in a.rpc("chain_info")["validators"]]
    check(len(vals) == 5 and newval["address"] in vals, "the set has 5 validators with the new one")
    check(e.rpc("chain_info")["consensus"]["validator"], "the new node now validates")
    # A commit holds the precommits its node had at decision time (more than 2/3 of the power),
    # so the slowest validator is not in every one: look until one of its precommits is.
    seen, checked, deadline = False, h + 1, time.time() + 60
    while not seen and time.time() < deadline:
        top = min(heads(net.nodes))
        seen = any(newval["address"] in signers(a, x) for x in range(checked + 1, top + 1))
        checked = top
        time.sleep(0.2)
    check(seen, "the new validator signs commits")
    hdr = a.rpc("header_get", h)
    check(hdr["next_validators_hash"] != hdr["validators_hash"] and
          a.rpc("header_get", h + 1)["validators_hash"] == hdr["next_validators_hash"],
          "the change shows in header h's next_validators_hash and signs from h+1")

    gone = net.nodes[3]
    gone_key = gone.rpc("chain_info")["consensus"]["validator_key"]
    gone_addr = [v["address"] for v in a.rpc("chain_info")["validators"]
                 if v["public_key"] == gone_key][0]
    h = set_power(a, chain, 1, gone_key, 0)
    check(wait_all_height(net.nodes, h + 4, 60), "the chain goes on after the removal")
    vals = [v["address"] for v in a.rpc("chain_info")["validators"]]
    check(len(vals) == 4 and gone_addr not in vals, "validator 3 left the set")
    check(not gone.rpc("chain_info")["consensus"]["validator"], "node3 now only follows")
    top = min(heads(net.nodes))
    check(all(gone_addr not in signers(a, x) for x in range(h + 2, top + 1)),
          "node3 no longer signs commits")
    check(gone.wait_height(top, 30), "node3 keeps following the chain")
    check_agreement(net.nodes, "after adding and removing validators")
finally:
    net.cleanup()
finish()
