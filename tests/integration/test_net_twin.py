"""Equivocation by a twin: a fifth process runs with node0's validator key (its own data
directory and node key), so validator 0 signs conflicting proposals and votes whenever the two
copies see different blocks (e.g. each builds its own when validator 0 proposes). The honest
nodes detect the duplicate votes, report them in a validators.report_evidence transaction paid
by their own validator account, and the evidence is committed on chain. Safety holds throughout:
the four original nodes agree on every block and state root, and the chain keeps committing."""
from tnlib import *

net = Testnet(n=4, block_time=300)
try:
    net.start()
    check(wait_all_height(net.nodes, 3, 60), "the network starts")
    key0 = net.nodes[0].args[net.nodes[0].args.index("--validator-key") + 1]
    twin = net.extra_node("twin", validator_key=key0)
    twin.start()
    honest = net.nodes[1:]
    reported = []
    deadline = time.time() + 120
    while time.time() < deadline and not reported:
        for n in honest:
            reported += [e for e in n.rpc("evidence_reported") if e["txid"]]
        time.sleep(0.5)
    check(reported, "an honest node saw validator 0 equivocate and reported it")
    val0 = net.nodes[1].rpc("chain_info")["validators"]
    committed = None
    deadline = time.time() + 60
    while reported and time.time() < deadline and not committed:
        for e in reported:
            try:
                committed = net.nodes[2].rpc("evidence_get", e["id"])
                break
            except RpcError:
                pass
        time.sleep(0.5)
    check(committed is not None, "the evidence is committed on chain")
    if committed:
        addr0 = [v["address"] for v in val0]
        check(committed["validator"] in addr0 and committed["validator"] == reported[0]["validator"],
              "the evidence names validator 0's key")
        for n in net.nodes:
            check(n.rpc("evidence_get", reported[0]["id"])["height"] == committed["height"],
                  f"{n.name} holds the same evidence record")
    h = max(heads(net.nodes))
    check(wait_all_height(net.nodes, h + 3, 60), "the chain keeps committing with the twin")
    check_agreement(net.nodes + [twin], "the four nodes and the twin")
    twin.stop()
finally:
    net.cleanup()
finish()
