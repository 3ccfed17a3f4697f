"""The dark wallet across clusters (issue 5): "an asynchronous cross-cluster path is tested too (a
message from one contract to another through the chain's queue)", with real processes.

`tenebra dev` deploys Balances and Assets in cluster 0 (its own worker is the gatekeeper). A second
`tenebra worker` process registers; alice (sudo) creates cluster 1 and assigns it there; it
receives the cluster-1 key from the gatekeeper. alice deploys a second Assets in cluster 1,
configured with the cluster-0 Balances and a fee.

Issuing on it fails ("issuing fee unpaid": the synchronous CHARGE into Balances cannot cross
clusters) and changes nothing. alice pays it with `tenebra dark pay --to-contract` (Balances'
PAY_CONTRACT; a pay beyond her dark balance is refused with Balances' reply, one to an id no
contract has is refused by the CLI before anything is sent); the PAID message leaves
the cluster-0 enclave signed by Balances' contract key, is relayed as an mq.push tx, lands in a
block's outbound list (both found and decoded here: origin = the Balances contract, topic
"contract/<assets1>/message", payload 0x20 ‖ alice ‖ fee), and the cluster-1 worker delivers it:
`tenebra token credit alice` on assets1 (its CONFIG query, cross-checked once against the raw
`contract query`) shows alice's credit == fee. Issuing then succeeds from the credit (alice's
dark PHA untouched), the credit is back to 0, a second issue is refused again, and Balances'
books still balance: custody == issuance, unchanged by the payment, with alice's dark balance
down by the fee (so assets1's dark account in Balances holds it; alice's history says
pay_contract to assets1)."""
from tnlib import *

t_start = time.time()
FEE1 = 2 * PHA + 345678  # assets1's fee: digits no other amount here has
DEPOSIT = 10 * PHA
SUPPLY = 1000
ASSETS_Q_CONFIG = "05"
CREDIT_KEYS = {"contract", "balances", "fee", "fee_units", "credit", "credit_units"}
dev = Dev(block_time=200)
wtmp = tempfile.mkdtemp(prefix="tn-xc-")
w1 = None


def step(what):
    print(f"[{time.time() - t_start:6.1f} s] {what}", flush=True)


def wait_for(fn, timeout=30, every=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(every)
    return None


def query(cid, hexreq, frm, worker):
    """`tenebra contract query` through worker: (result, answer bytes) or (None, the run)."""
    r = dev.tn("contract", "query", cid, hexreq, "--from", frm, "--worker", worker)
    if r.ok:
        return r.out["result"], bytes.fromhex(r.out["answer"])
    return None, r


def credit(cid, frm, worker):
    """`tenebra token credit frm` on cid through worker: (balances id hex, fee, frm's credit), or
    None when it fails."""
    r = dev.tn("token", "credit", frm, "--contract", cid, "--worker", worker)
    if not r.ok:
        return None
    check(set(r.out) == CREDIT_KEYS and r.out["contract"] == cid and
          r.out["fee"] == pha_text(r.out["fee_units"]) and
          r.out["credit"] == pha_text(r.out["credit_units"]), f"token credit's JSON ({r.out})")
    return r.out["balances"], int(r.out["fee_units"]), int(r.out["credit_units"])


def dark_balance(name):
    r = dev.dark("balance", name)
    check(r.ok, f"dark balance {name} ({r})")
    return int(r.out["dark_balance_units"]) if r.ok else None


def books(what):
    """dark info; custody on chain == issuance; returns (issuance, pending)."""
    r = dev.dark("info")
    if not check(r.ok, f"{what}: dark info ({r})"):
        return None, None
    iss, cust = int(r.out["issuance_units"]), int(r.out["custody_balance_units"])
    chain = int(dev.rpc("account_get", r.out["custody_address"])["balance"])
    check(iss == cust == chain, f"{what}: custody == issuance ({iss}, {cust}, account {chain})")
    return iss, int(r.out["pending_units"])


def tokens1(frm=None):
    r = dev.tn("token", "list", "--contract", a1, "--worker", w1.url,
               *(["--from", frm] if frm else []))
    check(r.ok, f"token list on assets1 ({r})")
    return {t["symbol"]: t for t in r.out["tokens"]} if r.ok else {}


try:
    step("start tenebra dev and a second worker")
    dev.start()
    w1 = Worker(dev.url, os.path.join(wtmp, "w1"), operator="bob", bin=BIN).start()
    found = dev.wait_contracts(timeout=90)
    if not check(found is not None, "dev deploys balances and assets in cluster 0"):
        raise RuntimeError("no contracts")
    bal, assets0 = found["balances"]["id"], found["assets"]["id"]
    check(found["balances"]["cluster"] == 0 and found["assets"]["cluster"] == 0,
          f"both in cluster 0 ({found['balances']['cluster']}, {found['assets']['cluster']})")
    alice_pk = dev_pubkey("alice")
    st = w1.wait(lambda s: s["registered"], timeout=30)
    if not check(st is not None, f"the second worker registers ({w1.tail()})"):
        raise RuntimeError("no second worker")
    w1id = st["identity"]

    step("alice creates cluster 1 and assigns the second worker to it")
    for args in (["create-cluster", "1"], ["assign-worker", w1id, "1"]):
        r = dev.tn("registry", *args, "--from", "alice")
        check(r.ok and r.out.get("success") is not False, f"registry {args[0]} ({r})")
    st = w1.wait(lambda s: s["cluster"] == 1 and s["has_cluster_key"], timeout=30)
    check(st is not None, f"the second worker holds the cluster-1 key ({w1.status()})")
    check(dev.worker_status()["cluster"] == 0, "dev's worker stays in cluster 0")

    step("alice deploys assets1 in cluster 1 (balances = the cluster-0 Balances)")
    r = dev.tn("contract", "deploy", "assets", "--cluster", "1", "--salt", "x1", "--from",
               "alice", "--args", bal + u128_le(FEE1).hex())
    if not check(r.ok and r.out.get("contract"), f"deploy assets1 ({r})"):
        raise RuntimeError("no assets1")
    a1 = r.out["contract"]
    shown = wait_for(lambda: (lambda c: c.out if c.ok and c.out.get("keys") else None)(
        dev.tn("contract", "show", a1)))
    check(shown and shown["cluster"] == 1 and shown["code"] == "assets",
          f"assets1's keys are published, cluster 1 ({shown})")
    st = w1.wait(lambda s: s["contracts"] >= 1 and s["contracts_unavailable"] == 0, timeout=30)
    check(st is not None, f"the cluster-1 worker hosts assets1 ({w1.status()})")
    cfg = wait_for(lambda: credit(a1, "alice", w1.url))
    check(cfg == (bal, FEE1, 0), f"token credit on assets1: the cluster-0 Balances, fee, credit 0 "
          f"({cfg})")
    r = dev.tn("token", "credit", "alice", "--contract", a1, "--worker", dev.worker_url)
    check(r.code != 0, f"dev's worker (cluster 0) does not answer for assets1 ({r})")

    step("alice deposits; issuing on assets1 without credit is refused")
    r = dev.dark("deposit", "--from", "alice", pha_text(DEPOSIT))
    check(r.ok and int(r.out["dark_balance_units"]) == DEPOSIT, f"dark deposit ({r})")
    iss0, _ = books("after the deposit")
    check(iss0 == DEPOSIT, "issuance is the deposit")
    r = dev.tn("token", "issue", "--from", "alice", "--symbol", "XCL", "--supply", SUPPLY,
               "--contract", a1, "--worker", w1.url)
    print(f"  refused: {r.err}", flush=True)
    check(r.code != 0 and "issuing fee unpaid" in r.err and "cluster" in r.err,
          f"issue on assets1 without credit: 'issuing fee unpaid', Balances elsewhere ({r})")
    check(tokens1() == {}, "assets1 lists no token")
    check(dark_balance("alice") == DEPOSIT, "alice's dark PHA untouched by the refused issue")

    step("alice pays assets1 with `dark pay` (Balances PAY_CONTRACT)")
    r = dev.dark("pay", "--from", "alice", "--to-contract", a1, pha_text(DEPOSIT + 1))
    check(r.code == 1 and r.err == "tenebra: dark pay refused: insufficient dark balance: have "
          f"{pha_text(DEPOSIT)} PHA, need {pha_text(DEPOSIT + 1)} PHA",
          f"dark pay beyond the dark balance: refused with Balances' reply ({r})")
    nobody = "ab" * 32
    r = dev.dark("pay", "--from", "alice", "--to-contract", nobody, "1")
    check(r.code == 1 and "no contract with this id" in r.err and r.stdout == "",
          f"dark pay to an id no contract has: refused before sending ({r})")
    check(dark_balance("alice") == DEPOSIT, "alice's dark PHA untouched by the refused pays")
    h0 = dev.rpc("chain_info")["height"]
    dispatched0 = w1.status()["messages_dispatched"]
    r = dev.dark("pay", "--from", "alice", "--to-contract", a1, pha_text(FEE1))
    check(r.ok and r.out["contract"] == bal and r.out["result"] == 0 and r.out["reply"] == "ok" and
          r.out["height"] > h0 and isinstance(r.out["nonce"], int) and len(r.out["tx"]) == 64,
          f"dark pay: Balances applied PAY_CONTRACT, reply ok ({r})")
    check(dark_balance("alice") == DEPOSIT - FEE1, "alice's dark balance dropped by the fee")
    hist = dev.dark("history", "alice")
    last = hist.out["entries"][-1] if hist.ok and hist.out["entries"] else {}
    check(last.get("kind") == "pay_contract" and last.get("amount_units") == str(FEE1) and
          last.get("counterparty") in (a1, ss58_encode(bytes.fromhex(a1))),
          f"alice's history: pay_contract to assets1 ({last})")

    step("the PAID message went through the chain's queue")
    topic = f"contract/{a1}/message"
    paid = bytes([0x20]) + alice_pk + u128_le(FEE1)

    def paid_in_blocks():
        head = dev.rpc("chain_info")["height"]
        return [(h, m) for h, m in outbound_messages(dev, h0, head) if m["topic"] == topic]

    out = wait_for(paid_in_blocks, timeout=30, every=0.5) or []
    check(len(out) == 1, f"exactly one outbound message to assets1 in blocks after {h0} ({out})")
    h_msg, m = out[0] if out else (0, {})
    check(m.get("origin") == "contract" and m.get("id") == bal and m.get("payload") == paid,
          f"in block {h_msg}'s outbound list: origin contract Balances, PAID ‖ alice ‖ fee ({m})")
    pushed = [(h, tx, msg, sig) for h, tx, msgs in mq_pushes(dev, h0, h_msg)
              for msg, sig in msgs if msg["topic"] == topic]
    check(len(pushed) == 1 and pushed[0][0] == h_msg and pushed[0][2] == m and
          pushed[0][1].get("success") is not False,
          f"relayed by one mq.push tx in the same block, the same message signed "
          f"({[(h, tx['txid'], tx['sender']) for h, tx, _, _ in pushed]})")
    if pushed:
        seq = dev.rpc("mq_sequence", "contract:" + bal)
        check(seq["next"] > m["sequence"], f"Balances' queue sequence moved past it ({seq})")
        print(f"  block {h_msg}: mq.push {pushed[0][1]['txid'][:16]}… by "
              f"{pushed[0][1]['sender']}, origin contract {bal[:16]}…, sequence {m['sequence']}",
              flush=True)
    cfg = wait_for(lambda: (lambda c: c if c and c[2] == FEE1 else None)(
        credit(a1, "alice", w1.url)), timeout=30)
    check(cfg == (bal, FEE1, FEE1), f"token credit alice (cluster-1 worker): credit == fee "
          f"({cfg or credit(a1, 'alice', w1.url)})")
    res, ans = query(a1, ASSETS_Q_CONFIG, "alice", w1.url)
    check(res == 0 and ans == bytes.fromhex(bal) + u128_le(FEE1) + u128_le(FEE1),
          f"the raw CONFIG query answers the same bytes ({res}, {ans})")
    st = w1.status()
    check(st["messages_dispatched"] > dispatched0, f"the cluster-1 worker dispatched messages "
          f"from the feeds ({dispatched0} -> {st['messages_dispatched']})")
    cfg = credit(a1, "charlie", w1.url)
    check(cfg == (bal, FEE1, 0), f"charlie has no credit ({cfg})")
    iss1, pend1 = books("after PAY_CONTRACT")
    check(iss1 == iss0 and pend1 == 0, f"issuance unchanged by the payment ({iss0} -> {iss1}): "
          "the fee is in assets1's dark account, still in custody")

    step("issue on assets1 from the credit")
    r = dev.tn("token", "issue", "--from", "alice", "--symbol", "XCL", "--supply", SUPPLY,
               "--decimals", "3", "--contract", a1, "--worker", w1.url)
    check(r.ok and r.out.get("result") == 0, f"issue on assets1 succeeds ({r})")
    t = tokens1().get("XCL")
    check(t and t["owner"] in (dev_address("alice"), alice_pk.hex()) and t["decimals"] == 3 and
          t["supply_units"] == str(SUPPLY * 1000), f"token list on assets1 shows XCL ({t})")
    r = dev.tn("token", "balance", "alice", "--contract", a1, "--worker", w1.url)
    held = {x["symbol"]: x["amount_units"] for x in r.out["tokens"]} if r.ok else None
    check(held == {"XCL": str(SUPPLY * 1000)}, f"alice holds the supply on assets1 ({r})")
    cfg = credit(a1, "alice", w1.url)
    check(cfg == (bal, FEE1, 0), f"alice's credit is back to 0 ({cfg})")
    check(dark_balance("alice") == DEPOSIT - FEE1, "the issue took nothing more from dark PHA")
    r = dev.token("list")
    check(r.ok and all(x["symbol"] != "XCL" for x in r.out["tokens"]) and
          r.out["contract"] == assets0, f"the cluster-0 Assets does not have XCL ({r})")
    r = dev.tn("token", "issue", "--from", "alice", "--symbol", "XCL2", "--supply", SUPPLY,
               "--contract", a1, "--worker", w1.url)
    check(r.code != 0 and "issuing fee unpaid" in r.err, f"a second issue: no credit left ({r})")
    check(set(tokens1()) == {"XCL"}, "still only XCL on assets1")
    iss2, pend2 = books("at the end")
    check(iss2 == iss0 and pend2 == 0, "issuance still the deposit")
    check(dark_balance("alice") == iss2 - FEE1,
          "alice holds issuance - fee: the rest (the fee) is assets1's dark account")
    for path in (dev.log_path, w1.log_path):
        text = open(path, errors="replace").read()
        check("Sanitizer" not in text and "runtime error:" not in text,
              f"no sanitizer reports in {os.path.basename(path)}")
    step("done")
except Exception:
    import traceback
    traceback.print_exc()
    check(False, "the test ran to its end")
finally:
    broken = any_failed()
    if w1:
        if broken:
            print(f"--- second worker log {w1.log_path}:\n{w1.tail(30)}", flush=True)
        w1.stop()
    dev.cleanup()
    if broken:
        print(f"kept {wtmp}", flush=True)
    else:
        shutil.rmtree(wtmp, ignore_errors=True)
finish()
