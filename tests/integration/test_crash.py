"""SIGKILL the node under load, several times: after each restart the head, every block and state
root seen before the kill, and every tx the RPC reported as included are still there."""
import subprocess
import threading

from tnlib import *

SENDERS = ["alice", "bob", "charlie", "dave", "eve", "ferdie"]
PER_SENDER = 40
KILLS = 5


def pubkey(name):
    return subprocess.run([TXGEN, "--pubkey", name], capture_output=True, text=True,
                          check=True).stdout.strip()


def presign(chain):
    keys = {s: pubkey(s) for s in SENDERS}
    txs = {}
    for i, s in enumerate(SENDERS):
        to = keys[SENDERS[(i + 1) % len(SENDERS)]]
        txs[s] = [txgen(**{"from": s, "chain": chain, "nonce": k, "valid-until": 4000,
                           "max-fee": 10 ** 12, "to": to, "amount": (k + 1) * 1000})
                  for k in range(PER_SENDER)]
    return keys, txs


class Load(threading.Thread):
    """Keeps each sender's next nonce submitted; resubmits after a restart (the pool is memory)."""

    def __init__(self, node, keys, txs):
        super().__init__(daemon=True)
        self.node, self.keys, self.txs = node, keys, txs
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for s in SENDERS:
                try:
                    nxt = self.node.rpc("account_get", self.keys[s])["next_nonce"]
                    if nxt < PER_SENDER:
                        self.node.rpc("tx_submit", self.txs[s][nxt][0])
                except Exception:
                    pass  # node down or tx already pending: try again next round
            time.sleep(0.01)


def observe(n, seen_blocks, included, txs):
    """Records every block and every tx the RPC reports as included."""
    h = n.rpc("chain_info")["height"]
    for height in range(1, h + 1):
        if height not in seen_blocks:
            hdr = n.rpc("header_get", height)
            seen_blocks[height] = (hdr["hash"], hdr["state_root"])
    for s in SENDERS:
        for _, txid in txs[s]:
            if txid in included:
                continue
            st = n.rpc("tx_status", txid)
            if st["status"] == "included":
                included[txid] = (st["height"], st["block_hash"])


def verify(n, seen_blocks, included, head_before):
    info = n.rpc("chain_info")
    check(info["height"] >= head_before, f"head {info['height']} >= {head_before} after restart")
    lost = [h for h, (hs, root) in seen_blocks.items()
            if n.rpc("header_get", h)["hash"] != hs or n.rpc("header_get", h)["state_root"] != root]
    check(not lost, f"every block seen before the kill is unchanged (changed: {lost[:5]})")
    gone = [t for t, (h, bh) in included.items()
            if (st := n.rpc("tx_status", t))["status"] != "included" or st["block_hash"] != bh]
    check(not gone, f"every tx reported included is still included ({len(gone)} lost)")


node = Node(block_time=100).start()
try:
    node.wait_height(1)
    keys, txs = presign(node.rpc("chain_info")["chain_id"])
    seen_blocks, included = {}, {}
    for round_ in range(KILLS):
        load = Load(node, keys, txs)
        load.start()
        time.sleep(1.0 + 0.3 * round_)
        observe(node, seen_blocks, included, txs)
        head = node.rpc("chain_info")["height"]
        node.kill()  # SIGKILL, mid-load, possibly mid-commit
        load.stop.set()
        load.join()
        node.start()
        verify(node, seen_blocks, included, head)
    check(len(included) > 20, f"load got txs included across crashes ({len(included)})")
    # Nonces agree with what was included: nothing applied twice or lost between restarts.
    observe(node, seen_blocks, included, txs)
    for s in SENDERS:
        n_inc = sum(1 for _, t in txs[s] if t in included)
        check(node.rpc("account_get", keys[s])["nonce"] == n_inc, f"{s}'s nonce = its included txs")
finally:
    node.cleanup()
finish()
