"""The dark wallet end to end (issue 5) with real processes from `tenebra dev`: its worker becomes
the gatekeeper and dev deploys "balances" and "assets" by itself.

alice deposits; alice secretly pays bob; then, before bob does anything, everything public (every
block, tx, feed with its messages and events, read-only RPC answer, the worker's status, dev's log
and data directory) is scanned for bob's key and the amount, and must hold neither, while the
same scan does find alice (the sender of the public txs). bob reads his dark balance, is refused
alice's, and withdraws to a third public account that is paid exactly once. Custody on chain ==
issuance after every step, and the histories say what happened.

Bad input: each gives a clear error (non-zero exit, one readable line) and changes nothing (dark
balances, custody, issuance; public balances and nonces too, except the fee and nonce of a command
the chain ordered and the contract refused). A replayed ciphertext and a command sealed to another
contract's key are ordered by the chain and not opened by the contract.

Then the token lifecycle: issue (the 1 PHA fee charged from dark PHA), list (a hidden supply is
null to others), transfer, balances for the holder only, burn, destroy refused while bob holds,
bob sends back, destroy.

bob is a fresh keystore key, not the dev account "bob": the dev accounts' keys are in the genesis
and dev's banner, so they could not be looked for in public data."""
import os

from tnlib import *

seed = test_seed()
rng = __import__("random").Random(seed)
dev = Dev(block_time=200)
t_start = time.time()

# Amounts with digits that occur nowhere else (the scan looks for them); the seed varies them.
DEPOSIT = 100 * PHA + rng.randrange(1, PHA)
SECRET = 12 * PHA + 345678901234 + rng.randrange(0, 1000) * 10 ** 9
WITHDRAW = 5 * PHA + 55555555
FEE_ASSETS = PHA

BAL_Q_BALANCE, BAL_Q_HISTORY = "01", "03"
ASSETS_Q_BALANCE = "01"
CONTRACT_DENIED, CONTRACT_NOT_OPENED, CONTRACT_NO_RECEIPT = 2, 8, 9


def step(what):
    print(f"[{time.time() - t_start:6.1f} s] {what}", flush=True)


def one_line(r):
    """A failure's message: exactly one readable line on stderr, nothing that looks like a crash."""
    lines = [l for l in r.err.splitlines() if l.strip()]
    return (r.code != 0 and len(lines) == 1 and lines[0].startswith("tenebra") and
            "Sanitizer" not in r.err and "Traceback" not in r.err)


def units(obj, key):
    return int(obj[key]) if obj and obj.get(key) is not None else None


def dark_balance(name):
    r = dev.dark("balance", name)
    check(r.ok, f"dark balance {name} answers ({r})")
    return units(r.out, "dark_balance_units") if r.ok else None


def books(what):
    """dark info; custody on chain (the custody account, and contract_get) == issuance."""
    r = dev.dark("info")
    if not check(r.ok, f"{what}: dark info answers ({r})"):
        return None
    info = r.out
    chain = dev.rpc("account_get", info["custody_address"])
    listed = dev.rpc("contract_get", bal["id"]).get("custody") or {}
    iss, cust = units(info, "issuance_units"), units(info, "custody_balance_units")
    check(iss == cust == int(chain["balance"]) == units(listed, "balance_units"),
          f"{what}: custody == issuance (issuance {iss}, custody {cust}, custody account "
          f"{chain['balance']}, contract_get {listed.get('balance_units')})")
    return info


def public(who):
    a = dev.account(who)
    return int(a["balance"]), int(a["nonce"]), a["address"]


def holdings(name):
    r = dev.token("balance", name)
    if not r.ok:
        return None
    return {t["symbol"]: int(t["amount_units"]) for t in r.out["tokens"]}


def snapshot(dark=("alice", "bobby"), pub=("alice",), tokens=False):
    """What bad input must not change."""
    info = books("snapshot")
    return {"head": dev.rpc("chain_info")["height"],
            "dark": {n: dark_balance(n) for n in dark},
            "issuance": units(info, "issuance_units"), "pending": units(info, "pending_units"),
            "custody": units(info, "custody_balance_units"),
            "public": {n: public(n) for n in pub},
            "tokens": {n: holdings(n) for n in dark} if tokens else None}


def unchanged(before, what, fee_from=None):
    """Checks that nothing changed since before; fee_from's public balance may have paid the fee
    of one tx the chain ordered (a command the contract then refused), nothing else."""
    after = snapshot(tuple(before["dark"]), tuple(before["public"]), before["tokens"] is not None)
    for k in ("dark", "issuance", "pending", "custody", "tokens"):
        check(after[k] == before[k], f"{what}: {k} unchanged ({before[k]} -> {after[k]})")
    for n, (bal0, nonce0, addr) in before["public"].items():
        bal1, nonce1, _ = after["public"][n]
        fees, ntx = dev.fees_paid(addr, before["head"], after["head"])
        allowed = (0, 1) if n == fee_from else (0,)
        check(nonce1 - nonce0 in allowed and ntx == nonce1 - nonce0 and bal1 == bal0 - fees,
              f"{what}: {n}'s public account changed only by {ntx} ordered tx(s) and their fees "
              f"(nonce {nonce0} -> {nonce1}, balance {bal0} -> {bal1}, fees {fees})")
    return after


def refused(r, what, *words):
    print(f"  {what}: {r.err}", flush=True)
    check(one_line(r) and all(w.lower() in r.err.lower() for w in words),
          f"{what}: refused with one clear line containing {words} ({r})")


def query(cid, hexreq, frm):
    """`tenebra contract query` with raw bytes: (result, answer), or (None, the failed run)."""
    r = dev.with_worker("contract", "query", cid, hexreq, "--from", frm)
    if r.ok:
        return r.out["result"], bytes.fromhex(r.out["answer"])
    return None, r


def receipt(cid, frm, nonce, timeout=30):
    """(result, reply) of frm's command with this nonce, once the contract has a receipt."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        res, ans = query(cid, "0001" + struct.pack("<Q", nonce).hex(), frm)
        if res == 0 and len(ans) >= 12:
            height, result = struct.unpack_from("<QI", ans)
            return result, ans[12:].decode(errors="replace")
        if res not in (CONTRACT_NO_RECEIPT, 0):
            return None, f"query result {res} {ans}"
        time.sleep(0.25)
    return None, "no receipt"


def push_command(cid, ct_hex, frm):
    """contracts.push_command of an existing ciphertext in a new tx from frm: its nonce."""
    payload = bytes.fromhex(cid) + uleb_encode(len(ct_hex) // 2) + bytes.fromhex(ct_hex)
    r = dev.tn("call", "contracts.push_command", payload.hex(), "--from", frm)
    if not check(r.ok and r.out.get("success") is not False, f"push_command ordered ({r})"):
        return None
    return dev.rpc("tx_get", r.out["txid"])["nonce"]


def history(name, group="dark"):
    r = (dev.dark if group == "dark" else dev.token)("history", name)
    check(r.ok, f"{group} history {name} ({r})")
    return r.out["entries"] if r.ok else []


try:
    step("start tenebra dev")
    dev.start()
    found = dev.wait_contracts(timeout=150)
    if not check(found is not None, "dev deploys balances and assets and their keys are published "
                 f"({dev.rpc('contract_list', 0, 100)})"):
        raise RuntimeError("no contracts to test")
    bal, assets = found["balances"], found["assets"]
    check(bal["deployer"] == dev_address("alice") and assets["deployer"] == dev_address("alice"),
          "alice deployed both")
    chain = dev.rpc("chain_info")
    ED = int(chain["existential_deposit"])

    bob = dev.new_key("bobby")
    bob_pk = bytes.fromhex(bob["public_key"])
    check(ss58_decode(bob["address"]) == bob_pk and ss58_encode(bob_pk) == bob["address"],
          "tnlib's SS58 matches the CLI's")
    third_pk = os.urandom(32)  # a public account that does not exist yet
    third = ss58_encode(third_pk)
    alice_pk = dev_pubkey("alice")
    info0 = books("at start")
    check(info0 and units(info0, "issuance_units") == 0, "nothing issued yet")

    # ---- deposit ----------------------------------------------------------------------------
    step("alice deposits")
    pub0, nonce0, alice_addr = public("alice")
    r = dev.dark("deposit", "--from", "alice", pha_text(DEPOSIT))
    check(r.ok and units(r.out, "amount_units") == DEPOSIT and
          units(r.out, "dark_balance_units") == DEPOSIT, f"dark deposit ({r})")
    dep_tx = r.out["tx"] if r.ok else None
    fee = int(dev.rpc("tx_status", dep_tx)["fee"]) if dep_tx else 0
    pub1, nonce1, _ = public("alice")
    check(pub1 == pub0 - DEPOSIT - fee and nonce1 == nonce0 + 1 and fee > 0,
          f"alice's public balance went down by amount + fee ({pub0} -> {pub1}, fee {fee})")
    check(dev.rpc("tx_get", dep_tx)["call"] == "contracts.deposit" if dep_tx else False,
          "the deposit is a contracts.deposit tx")
    info = books("after the deposit")
    check(info and units(info, "custody_balance_units") == DEPOSIT, "custody up by the amount")
    check(dark_balance("alice") == DEPOSIT, "alice's dark balance is the amount")

    # ---- secret transfer --------------------------------------------------------------------
    step("alice secretly pays bob")
    r = dev.dark("transfer", "--from", "alice", "--to", bob["address"], pha_text(SECRET))
    check(r.ok and r.out.get("result") == 0, f"dark transfer ({r})")
    xfer_tx = r.out["tx"] if r.ok else None
    xfer = dev.rpc("tx_get", xfer_tx) if xfer_tx else {}
    check(xfer.get("call") == "contracts.push_command" and xfer.get("sender") == alice_addr,
          "on chain the transfer is a push_command by alice")
    check(dark_balance("alice") == DEPOSIT - SECRET, "alice's dark balance went down")
    books("after the transfer")

    # ---- privacy scan, before bob does anything ----------------------------------------------
    step("privacy scan")
    dev.wait_height(dev.rpc("chain_info")["height"] + 2)
    blobs = public_blobs(dev, dev.worker_url, txids=[t for t in (dep_tx, xfer_tx) if t],
                         accounts=[alice_addr],
                         files=[dev.log_path], dirs=[dev.data_dir])
    hits = scan(blobs, {**account_needles("bob", bob_pk), **amount_needles("amount", SECRET)})
    total = sum(len(b) for _, b in blobs)
    check(not hits, f"neither bob's key nor the amount in {len(blobs)} public answers, feeds, "
          f"logs and files ({total} bytes): found {hits[:10]}")
    seen = scan(blobs, account_needles("alice", alice_pk))
    kinds = {label for _, label in seen}
    check("alice ss58" in kinds and "alice raw" in kinds,
          f"the scanner finds alice, the public sender (in {len(seen)} places: {sorted(kinds)})")
    seen = scan(blobs, amount_needles("deposit", DEPOSIT))
    check(any(l.endswith("units") for _, l in seen) and any("u128" in l for _, l in seen),
          f"the scanner finds the public deposit's amount ({sorted({l for _, l in seen})})")

    # ---- bob ----------------------------------------------------------------------------------
    step("bob reads his balance; alice's is refused to him")
    check(dark_balance("bobby") == SECRET, "bob's own query shows the secret payment")
    res, ans = query(bal["id"], BAL_Q_BALANCE + alice_pk.hex(), "bobby")
    check(res == CONTRACT_DENIED, f"a query about alice's balance signed by bob is refused ({res})")
    res, ans = query(bal["id"], BAL_Q_HISTORY + alice_pk.hex(), "bobby")
    check(res == CONTRACT_DENIED, f"and so is one about alice's history ({res})")
    res, ans = query(bal["id"], BAL_Q_BALANCE + alice_pk.hex(), "alice")
    check(res == 0 and ans and int.from_bytes(ans[:16], "little") == DEPOSIT - SECRET,
          "the same query signed by alice is answered")

    r = dev.tn("transfer", "--from", "alice", "--to", bob["address"], "2")
    check(r.ok, f"bob gets public PHA for his fees ({r})")
    seen = scan(public_blobs(dev), account_needles("bob", bob_pk))
    check({"bob ss58", "bob hex"} <= {l for _, l in seen},
          f"once bob is paid in public, the same scan finds him ({seen})")
    step("bob withdraws to a third public account")
    r = dev.dark("withdraw", "--from", "bobby", "--to", third, pha_text(WITHDRAW))
    check(r.ok and r.out.get("released") is True and r.out.get("result") == 0,
          f"dark withdraw is released ({r})")
    check(int(dev.rpc("account_get", third)["balance"]) == WITHDRAW,
          "the third account received exactly the amount")
    check(dark_balance("bobby") == SECRET - WITHDRAW, "bob's dark balance went down")
    info = books("after the withdrawal")
    check(info and units(info, "issuance_units") == DEPOSIT - WITHDRAW and
          units(info, "pending_units") == 0, "issuance down by the withdrawal, nothing pending")
    dev.wait_height(dev.rpc("chain_info")["height"] + 5)
    check(int(dev.rpc("account_get", third)["balance"]) == WITHDRAW,
          "five blocks later it was paid exactly once")

    step("histories")
    h = [(e["kind"], e["amount_units"], e["counterparty"]) for e in history("alice")]
    check(h[:2] == [("deposit", str(DEPOSIT), alice_addr), ("sent", str(SECRET), bob["address"])],
          f"alice's history: deposit, sent to bob ({h})")
    h = [(e["kind"], e["amount_units"], e["counterparty"]) for e in history("bobby")]
    check(h[:3] == [("received", str(SECRET), alice_addr), ("withdraw", str(WITHDRAW), third),
                    ("released", str(WITHDRAW), third)],
          f"bob's history: received from alice, withdraw, released ({h})")

    # ---- bad input ----------------------------------------------------------------------------
    step("bad input")
    before = snapshot()
    for amount, words in (("0", ["amount"]), ("-1", []), ("1.2.3", []), ("abc", []),
                          ("1.0000000000001", []), ("", []),
                          (str(2 ** 128), []), (str(2 ** 128) + ".5", [])):
        for cmd in (["transfer", "--from", "alice", "--to", bob["address"]],
                    ["withdraw", "--from", "alice", "--to", third], ["deposit", "--from", "alice"]):
            r = dev.dark(*cmd, amount)
            refused(r, f"dark {cmd[0]} of {amount!r}", *words)
    bad_ss58 = bob["address"][:-1] + ("2" if bob["address"][-1] != "2" else "3")
    for dest in (bad_ss58, bob_pk.hex()[:62], bob_pk.hex() + "00", "nobody", "zz" * 32):
        refused(dev.dark("transfer", "--from", "alice", "--to", dest, "1"),
                f"transfer to invalid address {dest!r}")
    before = unchanged(before, "malformed amounts and addresses")
    r = dev.dark("transfer", "--from", "alice", "--to", bob["address"], pha_text(DEPOSIT))
    refused(r, "overdraft", "insufficient")
    before = unchanged(before, "overdraft", fee_from="alice")
    r = dev.dark("transfer", "--from", "alice", "--to", bob["address"],
                 "340282366920938463463374607.431768211455")  # 2^128 - 1 units
    refused(r, "overdraft by the largest amount", "insufficient")
    before = unchanged(before, "overdraft by 2^128 - 1 units", fee_from="alice")
    r = dev.dark("withdraw", "--from", "alice", "--to", third, pha_text(DEPOSIT))
    refused(r, "withdraw overdraft", "insufficient")
    before = unchanged(before, "withdraw overdraft", fee_from="alice")
    refused(dev.dark("deposit", "--from", "alice", "20000000"),
            "deposit more than the public balance")
    before = unchanged(before, "deposit overdraft")
    refused(dev.dark("transfer", "--from", "alice", "--to", "alice", "1"), "transfer to oneself")
    before = unchanged(before, "transfer to oneself", fee_from="alice")
    refused(dev.dark("transfer", "--from", "alice", "--to", "00" * 32, "1"),
            "transfer to the all-zero key")
    before = unchanged(before, "transfer to the all-zero key", fee_from="alice")

    step("withdraw to a custody account: refused by the chain, refunded by the contract")
    custody = info["custody_address"]
    a0 = dark_balance("alice")
    r = dev.dark("withdraw", "--from", "alice", "--to", custody, "1")
    check(r.out is not None and r.out.get("released") is False and
          r.out.get("chain_result") not in (None, 0) and
          any(w in (r.err + r.stdout).lower() for w in ("refund", "back in your dark balance")),
          f"the CLI reports the withdrawal refused by the chain and refunded ({r})")
    before = unchanged(before, "withdraw to a custody account", fee_from="alice")
    h = [(e["kind"], e["amount_units"]) for e in history("alice")[-2:]]
    check(h == [("withdraw", str(PHA)), ("refund", str(PHA))],
          f"alice's history: withdraw then refund ({h})")
    r = dev.tn("transfer", "--from", "alice", "--to", custody, "1")
    refused(r, "a public transfer into a custody account", "custody")
    before = unchanged(before, "public transfer to custody")

    step("the same ciphertext twice; a command sealed to another contract's key")
    cmd = "01" + bob_pk.hex() + u128_le(PHA).hex()
    r = dev.tn("contract", "command", bal["id"], cmd, "--from", "alice")
    check(r.ok and r.out.get("ciphertext"), f"a crafted transfer command ({r})")
    if r.ok:
        res, reply = receipt(bal["id"], "alice", r.out["nonce"])
        check(res == 0, f"its receipt: applied ({res} {reply})")
        check(dark_balance("bobby") == SECRET - WITHDRAW + PHA, "bob got 1 PHA")
        before = snapshot()
        nonce = push_command(bal["id"], r.out["ciphertext"], "alice")
        res, reply = receipt(bal["id"], "alice", nonce) if nonce is not None else (None, "")
        check(res == CONTRACT_NOT_OPENED, f"the replay's receipt: not opened ({res} {reply})")
        before = unchanged(before, "replayed ciphertext", fee_from="alice")
    asset_cmd = "03" + b"NOSUCHTOKEN".ljust(12, b"\0").hex() + u128_le(1).hex()
    asset_cmd = asset_cmd.ljust(128, "0")
    r = dev.tn("contract", "command", assets["id"], asset_cmd, "--from", "alice")
    check(r.ok, f"a command sealed to the assets key ({r})")
    if r.ok:
        res, reply = receipt(assets["id"], "alice", r.out["nonce"])
        check(res not in (None, 0, CONTRACT_NOT_OPENED), f"assets opened it and refused it "
              f"(burn of an unknown token: {res} {reply})")
        before = snapshot()
        nonce = push_command(bal["id"], r.out["ciphertext"], "alice")
        res, reply = receipt(bal["id"], "alice", nonce) if nonce is not None else (None, "")
        check(res == CONTRACT_NOT_OPENED, f"balances did not open it ({res} {reply})")
        before = unchanged(before, "command sealed to the wrong key", fee_from="alice")

    # ---- token lifecycle ------------------------------------------------------------------------
    step("token lifecycle")
    a0 = dark_balance("alice")
    r = dev.token("issue", "--from", "alice", "--symbol", "SHADE", "--supply", "1000000",
                  "--decimals", "6", "--hide-supply")
    check(r.ok and r.out.get("result") == 0, f"token issue ({r})")
    check(dark_balance("alice") == a0 - FEE_ASSETS, "the 1 PHA fee came out of alice's dark PHA")
    h = history("alice")[-1:]
    check(h and h[0]["kind"] == "charged" and h[0]["amount_units"] == str(FEE_ASSETS) and
          h[0]["counterparty"] in (assets["id"], ss58_encode(bytes.fromhex(assets["id"]))),
          f"charged by the assets contract: its dark account got it ({h})")
    books("after the issue fee (inside the enclave: custody and issuance unchanged)")
    b0 = dark_balance("bobby")
    for amount, ok in ((2 * FEE_ASSETS, False), (FEE_ASSETS, True)):
        collect = ("05" + bob_pk.hex() + u128_le(amount).hex()).ljust(128, "0")
        r = dev.tn("contract", "command", assets["id"], collect, "--from", "alice")
        res, reply = receipt(assets["id"], "alice", r.out["nonce"]) if r.ok else (None, r)
        check((res == 0) == ok and res is not None,
              f"the deployer collects {pha_text(amount)} PHA of fees to bob: "
              f"{'done' if ok else 'refused, the contract holds only the one fee'} ({res} {reply})")
    check(dark_balance("bobby") == b0 + FEE_ASSETS,
          "the assets contract's dark account held exactly the fee: bob got it")
    books("after collecting the fee")
    check(holdings("alice") == {"SHADE": 10 ** 12}, "alice holds the whole supply")

    def listed(frm=None):
        r = dev.token("list", *(["--from", frm] if frm else []))
        check(r.ok, f"token list ({r})")
        return {t["symbol"]: t for t in r.out["tokens"]} if r.ok else {}

    t = listed().get("SHADE")
    check(t and t["hidden"] is True and t["supply"] is None and t["supply_units"] is None and
          t["decimals"] == 6, f"the public list shows SHADE with its supply hidden ({t})")
    t = listed("alice").get("SHADE")
    check(t and t["supply_units"] == str(10 ** 12), f"its owner sees the supply ({t})")

    before = snapshot(tokens=True)
    r = dev.token("issue", "--from", "alice", "--symbol", "SHADE", "--supply", "5")
    refused(r, "duplicate symbol", "SHADE")
    before = unchanged(before, "duplicate symbol (no fee charged)", fee_from="alice")

    r = dev.token("transfer", "--from", "alice", "--to", bob["address"], "--symbol", "SHADE",
                  "250.5")
    check(r.ok and r.out.get("result") == 0, f"token transfer to bob ({r})")
    check(holdings("alice") == {"SHADE": 10 ** 12 - 250500000} and
          holdings("bobby") == {"SHADE": 250500000}, "holdings after the transfer")
    res, ans = query(assets["id"], ASSETS_Q_BALANCE + bob_pk.hex() +
                     b"SHADE".ljust(12, b"\0").hex(), "alice")
    check(res == CONTRACT_DENIED, f"alice may not read bob's token balance ({res})")
    before = snapshot(tokens=True)
    for amount in ("0", "-1", "1.0000001", "x"):
        refused(dev.token("transfer", "--from", "alice", "--to", bob["address"], "--symbol",
                          "SHADE", amount), f"token transfer of {amount!r}")
    refused(dev.token("transfer", "--from", "alice", "--to", bad_ss58, "--symbol", "SHADE", "1"),
            "token transfer to an invalid address")
    before = unchanged(before, "malformed token commands")
    r = dev.token("burn", "--from", "bobby", "--symbol", "SHADE", "250.500001")
    refused(r, "burning more than held", "insufficient")
    before = unchanged(before, "burn more than held")
    r = dev.token("burn", "--from", "alice", "--symbol", "SHADE", "100")
    check(r.ok, f"burn ({r})")
    t = listed("alice").get("SHADE")
    check(t and t["supply_units"] == str(10 ** 12 - 10 ** 8), f"the supply shrank ({t})")
    before = snapshot(tokens=True)
    r = dev.token("destroy", "--from", "alice", "--symbol", "SHADE")
    refused(r, "destroy while bob holds some", "SHADE")
    before = unchanged(before, "destroy refused", fee_from="alice")
    r = dev.token("transfer", "--from", "bobby", "--to", "alice", "--symbol", "SHADE", "250.5")
    check(r.ok, f"bob sends his SHADE back ({r})")
    r = dev.token("destroy", "--from", "alice", "--symbol", "SHADE")
    check(r.ok, f"destroy ({r})")
    check("SHADE" not in listed(), "SHADE is gone from the list")
    check(not holdings("alice") and not holdings("bobby"), "nobody holds SHADE")
    h = [e["kind"] for e in history("alice", "token")]
    check(h == ["issued", "sent", "burned", "received", "destroyed"],
          f"alice's token history ({h})")
    h = [e["kind"] for e in history("bobby", "token")]
    check(h == ["received", "sent"], f"bob's token history ({h})")
    books("at the end")
    text = open(dev.log_path, errors="replace").read()
    check("Sanitizer" not in text and "runtime error:" not in text, "no sanitizer reports")
    step("done")
except Exception:
    import traceback
    traceback.print_exc()
    check(False, "the test ran to its end")
finally:
    dev.cleanup()
    if any_failed():
        print(f"random seed = {seed} (set TENEBRA_TEST_SEED to replay)", flush=True)
finish()
