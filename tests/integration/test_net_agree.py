"""Four validators from `tenebra testnet` on loopback: they commit blocks with transfers and agree
on every block hash and state root; every commit carries more than 2/3 of the signatures; a
transfer sent to one node is included and seen by all; a full node started from scratch later
syncs the whole chain and follows it."""
from tnlib import *

net = Testnet(n=4, block_time=300)
try:
    net.start()
    a, b, c, d = net.nodes
    check(wait_all_height(net.nodes, 3, 60), "4 validators commit blocks")
    info = a.rpc("chain_info")
    check(len(info["validators"]) == 4 and info["consensus"]["validator"],
          "chain_info lists the 4 validators and says node0 is one")
    # Links settle (two nodes dialling each other keep one connection) and heights arrive with
    # the next status message (every 500 ms): poll rather than read once.
    deadline, ni = time.time() + 15, None
    while time.time() < deadline:
        ni = a.rpc("net_info")
        if ni["n_peers"] == 3 and all(p["height"] is not None for p in ni["peers"]):
            break
        time.sleep(0.1)
    check(ni["n_peers"] == 3 and all(p["height"] is not None for p in ni["peers"]),
          f"net_info shows 3 peers with heights ({ni['n_peers']})")
    chain = info["chain_id"]
    bob = subprocess.run([TXGEN, "--pubkey", "bob"], capture_output=True, text=True,
                         check=True).stdout.strip()
    txids = []
    for k in range(10):
        hx, txid = txgen(**{"from": "alice", "chain": chain, "nonce": k, "valid-until": 1000,
                            "max-fee": 10 ** 12, "to": bob, "amount": 10 ** 12})
        net.nodes[k % 4].rpc("tx_submit", hx)
        txids.append(txid)
    included = [d.wait_included(t, 60) for t in txids]
    check(all(included), "transfers submitted to every node are included")
    top = max(s["height"] for s in included if s)
    check(wait_all_height(net.nodes, top + 2, 60), "all nodes pass the transfers' blocks")
    for n in net.nodes:
        check(n.rpc("tx_status", txids[-1])["status"] == "included",
              f"{n.name} sees the last transfer included")
    blk = b.rpc("block_get", top)
    check(len(blk["commit"]["signatures"]) >= 3, "the commit has more than 2/3 of the votes")
    full = net.extra_node("full")
    net.nodes.append(full)
    full.start()
    target = a.rpc("chain_info")["height"]
    check(full.wait_height(target, 60), f"a full node syncs from scratch to {target}")
    check(not full.rpc("chain_info")["consensus"]["validator"], "the full node does not vote")
    h0 = full.rpc("chain_info")["height"]
    check(full.wait_height(h0 + 3, 30), "the full node follows new blocks")
    check_agreement(net.nodes, "validators and full node")
    check(full.rpc("tx_status", txids[0])["status"] == "included",
          "the full node knows the synced transfers")
finally:
    net.cleanup()
finish()
