"""Partitions through TCP proxies (every node-to-node link goes through its own proxy): one
validator cut off while the other three keep committing, then reconnected (it catches up); then a
2|2 split where nobody may commit, then healed (commits resume). After each, all nodes agree on
every block and state root."""
from tnlib import *


def stalled(nodes, secs):
    """True if no node gets more than one block further in secs (one may be in flight)."""
    before = heads(nodes)
    time.sleep(secs)
    after = heads(nodes)
    return all(y <= x + 1 for x, y in zip(before, after)), before, after


net = Testnet(n=4, block_time=300, timeouts="500,250,250")
proxies = proxy_mesh(net)
try:
    net.start()
    nodes = net.nodes
    check(wait_all_height(nodes, 3, 60), "the network commits through the proxies")

    partition(proxies, {3})
    time.sleep(0.5)
    h = max(heads(nodes[:3]))
    check(wait_all_height(nodes[:3], h + 5, 60), "three of four keep committing without node3")
    ok, before, after = stalled(nodes[3:], 2)
    check(ok, f"the cut-off node commits nothing alone ({before} -> {after})")
    partition(proxies, set())
    top = max(heads(nodes[:3]))
    check(nodes[3].wait_height(top, 90), "node3 catches up after the link is back")
    check_agreement(nodes, "after node3 rejoined")

    partition(proxies, {0, 1})
    time.sleep(1)
    ok, before, after = stalled(nodes, 5)
    check(ok, f"a 2|2 split commits nothing ({before} -> {after})")
    partition(proxies, set())
    h = max(heads(nodes))
    check(wait_all_height(nodes, h + 3, 120), "commits resume after the split heals")
    check_agreement(nodes, "after the split healed")
finally:
    net.cleanup()
    for p in proxies.values():
        p.close()
finish()
