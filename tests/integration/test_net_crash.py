"""Four validators under a transfer load; one is killed with SIGKILL (several times, at whatever
point it was) and restarted. While it is down the other three keep committing; after a restart it
replays its WAL, catches up, and every block and state root it committed before is still there.
All nodes agree on every block, and every transfer the RPC reported included stays included."""
import random
import threading

from tnlib import *

SENDERS = ["alice", "bob", "charlie", "dave", "eve", "ferdie"]
PER_SENDER = 60


class Load(threading.Thread):
    """Submits each sender's next transfer to a random live node, round after round."""

    def __init__(self, nodes, txs):
        super().__init__(daemon=True)
        self.nodes, self.txs = nodes, txs
        self.stop = threading.Event()
        self.live = list(nodes)

    def run(self):
        while not self.stop.is_set():
            for s in SENDERS:
                n = random.choice(self.live)
                try:
                    nxt = n.rpc("account_get", self.txs[s]["key"])["next_nonce"]
                    if nxt < PER_SENDER:
                        n.rpc("tx_submit", self.txs[s]["txs"][nxt][0])
                except Exception:
                    pass  # node down, or tx already pending
            time.sleep(0.02)


net = Testnet(n=4, block_time=300)
try:
    net.start()
    check(wait_all_height(net.nodes, 2, 60), "the network starts")
    chain = net.nodes[0].rpc("chain_info")["chain_id"]
    keys = {s: subprocess.run([TXGEN, "--pubkey", s], capture_output=True, text=True,
                              check=True).stdout.strip() for s in SENDERS}
    txs = {}
    for i, s in enumerate(SENDERS):
        to = keys[SENDERS[(i + 1) % len(SENDERS)]]
        txs[s] = {"key": keys[s], "txs": [
            txgen(**{"from": s, "chain": chain, "nonce": k, "valid-until": 4000,
                     "max-fee": 10 ** 12, "to": to, "amount": 1000 + k}) for k in range(PER_SENDER)]}
    load = Load(net.nodes, txs)
    load.start()
    victim = net.nodes[2]
    others = [n for n in net.nodes if n is not victim]
    for round_ in range(3):
        time.sleep(random.uniform(0.5, 2.0))
        before = victim.rpc("chain_info")["height"]
        seen = {h: victim.rpc("header_get", h)["hash"] for h in range(max(1, before - 5), before + 1)}
        load.live = others
        victim.kill()
        h = max(heads(others))
        check(wait_all_height(others, h + 3, 60),
              f"kill {round_ + 1}: three of four validators keep committing")
        victim.start()
        load.live = net.nodes
        top = max(heads(others))
        check(victim.wait_height(top, 60), f"kill {round_ + 1}: the restarted node catches up")
        check(all(victim.rpc("header_get", x)["hash"] == hsh for x, hsh in seen.items()),
              f"kill {round_ + 1}: blocks committed before the kill are still there")
    deadline = time.time() + 90
    while time.time() < deadline:
        if all(net.nodes[0].rpc("account_get", txs[s]["key"])["next_nonce"] >= PER_SENDER
               for s in SENDERS):
            break
        time.sleep(0.5)
    load.stop.set()
    load.join()
    done = all(net.nodes[0].rpc("account_get", txs[s]["key"])["next_nonce"] >= PER_SENDER
               for s in SENDERS)
    check(done, "all transfers of the load are committed")
    top = max(heads(net.nodes))
    check(wait_all_height(net.nodes, top, 60), "all nodes reach the same height")
    check_agreement(net.nodes, "after the kills")
    for s in SENDERS:
        for _, txid in txs[s]["txs"][::10]:
            st = [n.rpc("tx_status", txid)["status"] for n in net.nodes]
            if not check(st == ["included"] * 4, f"tx {txid[:12]} included on every node ({st})"):
                break
finally:
    net.cleanup()
finish()
