"""A real dev node: transfers through the CLI and raw RPC, exact balances and fees, supply
conservation, blocks and receipts, state roots and proofs, head subscription, metrics."""
import json
import subprocess
import threading
import urllib.request

from tnlib import *

PROOFCHECK = os.path.join(BUILD, "tools", "proofcheck")


def pubkey(name):
    return subprocess.run([TXGEN, "--pubkey", name], capture_output=True, text=True,
                          check=True).stdout.strip()


def total_supply(n, info):
    accounts = [pubkey(d) for d in DEV] + [info["treasury"], info["mining_reward_pool"]]
    return sum(n.balance(a) for a in accounts)


def test_identity(n):
    info = n.rpc("chain_info")
    check(info["chain_name"] == "tenebra-dev", "dev chain name")
    check(info["ss58_prefix"] == 30, "ss58 prefix 30")
    check(info["token"] == {"symbol": "PHA", "decimals": 12}, "token PHA/12")
    check(len(info["validators"]) == 1 and info["validators"][0]["public_key"] == pubkey("alice"),
          "alice is the only validator")
    check(n.balance(info["mining_reward_pool"]) == 700_000_000 * PHA, "mining pool 700M")
    check(n.balance(pubkey("bob")) == 10_000_000 * PHA, "bob starts with 10M")
    check(total_supply(n, info) == 1_000_000_000 * PHA, "total supply 1e9 PHA")
    return info


def test_cli_transfer(n, info):
    alice, bob = pubkey("alice"), pubkey("bob")
    a0, b0, t0 = n.balance(alice), n.balance(bob), n.balance(info["treasury"])
    code, out, err = n.cli("--json", "transfer", "--from", "alice", "--to", "bob", "1.5")
    check(code == 0, f"cli transfer exit 0 ({err.strip()})")
    r = json.loads(out)
    check(r["status"] == "included" and r["success"], "transfer included and succeeded")
    fee = int(r["fee"])
    check(fee > 0, "a fee was charged")
    # alice authored the block, so she also got the tip (0 here) back.
    check(n.balance(bob) == b0 + 3 * PHA // 2, "bob +1.5 PHA exactly")
    check(n.balance(alice) == a0 - 3 * PHA // 2 - fee, "alice -1.5 PHA - fee exactly")
    check(n.balance(info["treasury"]) == t0 + fee, "the fee went to the treasury")
    # The fee follows the published formula: base + per_byte * len + per_weight * weight.
    tx = n.rpc("tx_get", r["txid"])
    length = len(tx["raw"]) // 2
    f = info["fees"]
    rest = fee - int(f["base"]) - int(f["per_byte"]) * length
    check(rest >= 0 and int(f["per_weight"]) > 0 and rest % int(f["per_weight"]) == 0,
          "fee = base + per_byte*len + per_weight*weight")
    check(tx["call"] == "balances.transfer" and tx["args"]["amount"] == str(3 * PHA // 2),
          "tx_get decodes the call")
    code, out, _ = n.cli("balance", "bob")
    check(code == 0 and "10000001.5" in out, "cli balance shows 10000001.5")
    return r


def test_rpc_transfer_with_tip(n, info):
    bob, charlie, alice = pubkey("bob"), pubkey("charlie"), pubkey("alice")
    acct = n.rpc("account_get", bob)
    h = n.rpc("chain_info")["height"]
    a0, c0, t0 = n.balance(alice), n.balance(charlie), n.balance(info["treasury"])
    b0 = n.balance(bob)
    tip = 1000
    hx, txid = txgen(**{"from": "bob", "chain": info["chain_id"], "nonce": acct["next_nonce"],
                        "valid-until": h + 100, "max-fee": 10 ** 12, "tip": tip,
                        "to": charlie, "amount": 7 * PHA})
    res = n.rpc("tx_submit", hx)
    check(res["txid"] == txid and res["status"] == "ready", "tx_submit returns id, ready")
    st = n.wait_included(txid)
    check(st is not None and st["success"], "submitted tx included")
    fee = int(st["fee"])
    check(int(st["tip"]) == tip, "receipt records the tip")
    check(n.balance(charlie) == c0 + 7 * PHA, "charlie +7 PHA")
    check(n.balance(bob) == b0 - 7 * PHA - fee - tip, "bob paid amount + fee + tip")
    check(n.balance(alice) == a0 + tip, "the tip went to the block author")
    check(n.balance(info["treasury"]) == t0 + fee, "fee to treasury")
    blk = n.rpc("block_get", st["height"])
    check(any(t["txid"] == txid for t in blk["txs"]), "block lists the tx")
    check(blk["hash"] == st["block_hash"], "block hash matches the receipt")
    check(len(blk["commit"]["signatures"]) == 1, "block carries a signed commit")
    by_hash = n.rpc("block_get", st["block_hash"])
    check(by_hash["header"]["height"] == st["height"], "block by hash")
    check(total_supply(n, info) == 1_000_000_000 * PHA, "supply conserved after transfers")


def test_bulk_submit(n, info):
    """POST /txs: two of eve's transfers in one binary body, both admitted and included."""
    eve, ferdie = pubkey("eve"), pubkey("ferdie")
    nonce = n.rpc("account_get", eve)["next_nonce"]
    h = n.rpc("chain_info")["height"]
    f0 = n.balance(ferdie)
    body, ids = b"", []
    for k in range(2):
        hx, txid = txgen(**{"from": "eve", "chain": info["chain_id"], "nonce": nonce + k,
                            "valid-until": h + 100, "max-fee": 10 ** 12, "to": ferdie,
                            "amount": PHA})
        raw = bytes.fromhex(hx)
        body += bytes([len(raw) & 0x7F | 0x80, len(raw) >> 7]) + raw  # 2-byte LEB128 length
        ids.append(txid)
    req = urllib.request.Request(n.url + "/txs", data=body,
                                 headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req, timeout=30) as r:
        res = json.loads(r.read())["results"]
    check([x.get("txid") for x in res] == ids and all(x["status"] == "ready" for x in res),
          f"both txs admitted in order ({res})")
    check(all(n.wait_included(t) for t in ids), "both bulk txs included")
    check(n.balance(ferdie) == f0 + 2 * PHA, "ferdie received both transfers")


def test_state_root_and_proofs(n):
    n.wait_height(n.rpc("chain_info")["height"] + 2)
    acct = n.rpc("account_get", pubkey("dave"), True)
    head = n.rpc("header_get", acct["height"])
    check(head["state_root"] == acct["state_root"], "account read at the header's state root")
    r = subprocess.run([PROOFCHECK, acct["state_root"], acct["key"], acct["value"], acct["proof"]],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"membership proof verifies ({r.stdout.strip()})")
    bad = acct["value"][:-2] + ("00" if acct["value"][-2:] != "00" else "01")
    r = subprocess.run([PROOFCHECK, acct["state_root"], acct["key"], bad, acct["proof"]],
                       capture_output=True, text=True)
    check(r.returncode == 1, "proof fails for another value")
    fresh = "11" * 32
    absent = n.rpc("account_get", fresh, True)
    check(not absent["exists"] and absent["balance"] == "0", "unknown account reads as empty")
    r = subprocess.run([PROOFCHECK, absent["state_root"], absent["key"], "-", absent["proof"]],
                       capture_output=True, text=True)
    check(r.returncode == 0, "non-membership proof verifies")


def test_heads_subscription(n):
    got = []

    def listen():
        with urllib.request.urlopen(n.url + "/events/heads", timeout=10) as r:
            for line in r:
                line = line.decode().strip()
                if line.startswith("data:"):
                    got.append(json.loads(line[5:]))
                    if len(got) == 2:
                        return

    t = threading.Thread(target=listen)
    t.start()
    t.join(15)
    check(len(got) == 2 and got[1]["height"] == got[0]["height"] + 1,
          "two consecutive heads arrive over SSE")
    check(got and got[-1]["prev_hash"] == got[0]["hash"], "heads chain by prev_hash")


def test_metrics(n):
    status, body = n.get("/metrics")
    check(status == 200 and "tenebra_height " in body and "tenebra_mempool_ready_txs" in body
          and "tenebra_txs_applied_total" in body, "metrics in Prometheus format")
    applied = [l for l in body.splitlines() if l.startswith("tenebra_txs_applied_total ")]
    check(applied and float(applied[0].split()[1]) >= 2, "metrics count applied txs")


n = Node(block_time=200).start()
try:
    info = test_identity(n)
    test_cli_transfer(n, info)
    test_rpc_transfer_with_tip(n, info)
    test_bulk_submit(n, info)
    test_state_root_and_proofs(n)
    test_heads_subscription(n)
    test_metrics(n)
finally:
    n.cleanup()
finish()
