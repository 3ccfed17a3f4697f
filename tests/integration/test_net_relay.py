"""Four validators linked in a ring (0-1-2-3-0), not a full mesh: each node knows only its two
neighbours, so votes and proposals reach the far side only because nodes pass them on. With
node1 killed the remaining line 0-3-2 holds 3/4 of the power and keeps committing, although node0
and node2 share no link; a transfer sent to node0 is included and seen at node2; node1 comes back,
catches up, and all four agree on every block and state root."""
from tnlib import *

net = Testnet(n=4, block_time=300)
try:
    ring = net.nodes
    for i, node in enumerate(ring):
        node.set_arg("--peers", net.peers_arg([ring[(i - 1) % 4], ring[(i + 1) % 4]]))
    net.start()
    check(wait_all_height(ring, 3, 60), "4 validators in a ring commit blocks")
    deadline, counts = time.time() + 15, None
    while time.time() < deadline:
        counts = [n.rpc("net_info")["n_peers"] for n in ring]
        if counts == [2, 2, 2, 2]:
            break
        time.sleep(0.1)
    check(counts == [2, 2, 2, 2], f"each node has exactly its two neighbours as peers ({counts})")

    a, b, c, d = ring
    b.kill()
    line = [a, c, d]
    h = max(heads(line))
    check(wait_all_height(line, h + 4, 60),
          f"without node1, the line 0-3-2 keeps committing past {h + 4} (0 and 2 are not linked)")
    commit = a.rpc("block_get", h + 3)["commit"]
    check(len(commit["signatures"]) == 3,
          "its commits carry the votes of node0, node2 and node3 (relayed across node3)")

    chain = a.rpc("chain_info")["chain_id"]
    bob = subprocess.run([TXGEN, "--pubkey", "bob"], capture_output=True, text=True,
                         check=True).stdout.strip()
    hx, txid = txgen(**{"from": "alice", "chain": chain, "nonce": 0, "valid-until": 1000,
                        "max-fee": 10 ** 12, "to": bob, "amount": 7 * 10 ** 12})
    a.rpc("tx_submit", hx)
    st = c.wait_included(txid, 60)
    check(st is not None, "a transfer sent to node0 is included and seen at node2")

    b.start()
    top = max(heads(line))
    check(b.wait_height(top + 2, 60), "node1 comes back, catches up and follows")
    check_agreement(ring, "the ring after node1's return")
finally:
    net.cleanup()
finish()
