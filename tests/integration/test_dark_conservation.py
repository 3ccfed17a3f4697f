"""Conservation of the dark wallet (issue 5) over a randomized run with real processes from
`tenebra dev`: a few hundred deposits, dark transfers, withdrawals and token transfers among five
accounts, with a graceful restart of dev (the worker seals a checkpoint) and a SIGKILL in the
middle (the worker resumes from that checkpoint and replays the blocks after it).

The run goes in rounds: the ops of a round are planned from the model at the round's start (so
a seed replays the same plan: TENEBRA_TEST_SEED), one op per account, and run concurrently (each
account has its own nonces). Planned refusals (overdrafts) are mixed in. At checkpoints and at
the end: every account's dark balance (its own query) and token holdings equal the model; the
sum of dark balances plus the fees the assets contract holds plus pending withdrawals ==
issuance == custody on chain; token holdings sum to each token's supply. At the end the deployer
collects the fees (an assets COLLECT command) and the sum of the accounts' balances alone equals
issuance."""
import random
import re
import signal
from concurrent.futures import ThreadPoolExecutor

from tnlib import *

ROUNDS = int(os.environ.get("TN_DARK_ROUNDS", "60"))
NAMES = ["alice", "bob", "charlie", "dave", "eve"]  # ferdie is the dev worker's operator
TOKENS = {"CONS": ("alice", 3, 10 ** 9), "BOBT": ("bob", 0, 5000)}  # owner, decimals, supply
FEE = PHA

seed = test_seed()
rng = random.Random(seed)
dev = Dev(block_time=200)
t_start = time.time()
ops_run = {"ok": 0, "refused": 0}
dark = {n: 0 for n in NAMES}
tok = {sym: {n: 0 for n in NAMES} for sym in TOKENS}
fees_held = 0  # dark PHA the assets contract collected as issue fees


def step(what):
    print(f"[{time.time() - t_start:6.1f} s] {what}", flush=True)


def token_text(units, decimals):
    whole, frac = divmod(units, 10 ** decimals)
    return f"{whole}.{frac:0{decimals}d}".rstrip("0").rstrip(".") if frac else str(whole)


def random_units(limit):
    """An amount in 1..limit with a random number of significant digits."""
    v = rng.randint(1, limit)
    cut = 10 ** rng.randint(0, 11)
    return max(1, v - v % cut) if v > cut else v


def plan_round():
    """One op per account: (name, kind, args, amount units, expected ok)."""
    plan = []
    all_dark = sum(dark.values()) + fees_held
    for n in NAMES:
        others = [o for o in NAMES if o != n]
        roll = rng.random()
        held = [s for s in TOKENS if tok[s][n]]
        if roll < 0.15 or dark[n] < PHA:
            amt = random_units(40 * PHA)
            plan.append((n, "deposit", [], amt, True))
        elif roll < 0.55:
            to = rng.choice(others)
            plan.append((n, "transfer", [to], random_units(dark[n] // 2), True))
        elif roll < 0.70:
            to = rng.choice(NAMES)
            plan.append((n, "withdraw", [to], random_units(dark[n] // 3), True))
        elif roll < 0.92 and held:
            sym = rng.choice(held)
            plan.append((n, "token", [rng.choice(others), sym], random_units(tok[sym][n]), True))
        elif roll < 0.96:  # more than all the dark PHA there is: whatever arrives this round
            plan.append((n, "transfer", [rng.choice(others)], all_dark + random_units(PHA),
                         False))
        else:
            plan.append((n, "withdraw", [rng.choice(others)], all_dark + 1, False))
    return plan


def run_op(op, timeout=60):
    n, kind, args, amt, expect_ok = op
    wait = ["--timeout", str(timeout)]
    if kind == "deposit":
        r = dev.dark("deposit", "--from", n, pha_text(amt), *wait)
    elif kind == "transfer":
        r = dev.dark("transfer", "--from", n, "--to", args[0], pha_text(amt), *wait)
    elif kind == "withdraw":
        r = dev.dark("withdraw", "--from", n, "--to", args[0], pha_text(amt), *wait)
    else:
        dec = TOKENS[args[1]][1]
        r = dev.token("transfer", "--from", n, "--to", args[0], "--symbol", args[1],
                      token_text(amt, dec), *wait)
    return op, r


def apply(op, r):
    global fees_held
    n, kind, args, amt, expect_ok = op
    what = f"{n} {kind} {args} {amt}"
    if not expect_ok:
        ops_run["refused"] += 1
        return check(r.code != 0 and "insufficient" in r.err,
                     f"planned overdraft refused: {what} ({r})")
    ok = r.ok and (kind != "withdraw" or r.out.get("released") is True)
    if not check(ok, f"{what} ({r})"):
        return False
    ops_run["ok"] += 1
    if kind == "deposit":
        dark[n] += amt
    elif kind in ("transfer", "withdraw"):
        dark[n] -= amt
        if kind == "transfer":
            dark[args[0]] += amt
    else:
        tok[args[1]][n] -= amt
        tok[args[1]][args[0]] += amt
    return True


def books(what):
    r = dev.dark("info")
    if not check(r.ok, f"{what}: dark info ({r})"):
        return None
    info = r.out
    custody = int(dev.rpc("account_get", info["custody_address"])["balance"])
    iss = int(info["issuance_units"])
    check(iss == int(info["custody_balance_units"]) == custody,
          f"{what}: issuance {iss} == custody {info['custody_balance_units']} == custody on "
          f"chain {custody}")
    return info


def audit(what, collected=False):
    """Every account's own queries against the model; the sums against issuance and supply."""
    step(f"audit: {what}")
    with ThreadPoolExecutor(len(NAMES)) as ex:
        bal = dict(ex.map(lambda n: (n, dev.dark("balance", n)), NAMES))
        hold = dict(ex.map(lambda n: (n, dev.token("balance", n)), NAMES))
    seen = {}
    for n in NAMES:
        r = bal[n]
        seen[n] = int(r.out["dark_balance_units"]) if r.ok else None
        check(seen[n] == dark[n], f"{what}: {n}'s dark balance {seen[n]} == model {dark[n]}")
        r = hold[n]
        got = {t["symbol"]: int(t["amount_units"]) for t in r.out["tokens"]} if r.ok else None
        want = {s: tok[s][n] for s in TOKENS if tok[s][n]}
        check(got == want, f"{what}: {n}'s tokens {got} == model {want}")
    info = books(what)
    if info and None not in seen.values():
        held = 0 if collected else fees_held
        iss, pending = int(info["issuance_units"]), int(info["pending_units"])
        check(sum(seen.values()) + held + pending == iss,
              f"{what}: sum of dark balances {sum(seen.values())} + fees held {held} + pending "
              f"{pending} == issuance {iss}")
    for sym, (owner, _, supply) in TOKENS.items():
        r = dev.token("list", "--from", owner)
        listed = {t["symbol"]: t for t in r.out["tokens"]} if r.ok else {}
        got = int(listed[sym]["supply_units"]) if sym in listed else None
        check(got == supply == sum(tok[sym].values()),
              f"{what}: {sym} supply {got} == holdings {sum(tok[sym].values())} == {supply}")


def wait_settled(timeout=60):
    """dark info once no withdrawal is pending (the chain answered every one)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = dev.dark("info")
        if r.ok and int(r.out["pending_units"]) == 0:
            return r.out
        time.sleep(0.3)
    return None


def crash_round(rnd):
    """A round whose commands are in flight when dev is SIGKILLed: some land, some are lost with
    the mempool, withdrawals may be debited but not yet released. After the restart every
    pending withdrawal must settle exactly once and the books must balance; the model then
    takes each account's balances from its own queries (which ops landed is not knowable from
    the failed CLI runs)."""
    plan = plan_round()
    with ThreadPoolExecutor(len(plan)) as ex:
        futures = [ex.submit(run_op, op, 30) for op in plan]
        time.sleep(rng.uniform(0.2, 1.0))
        restart(signal.SIGKILL, "with commands in flight")
        results = [f.result() for f in futures]
    done = sum(1 for _, r in results if r.code == 0)
    print(f"  round {rnd}: {done} of {len(plan)} commands completed across the crash", flush=True)
    check(wait_settled() is not None, "every withdrawal settles after the crash")
    with ThreadPoolExecutor(len(NAMES)) as ex:
        bal = dict(ex.map(lambda n: (n, dev.dark("balance", n)), NAMES))
        hold = dict(ex.map(lambda n: (n, dev.token("balance", n)), NAMES))
    for n in NAMES:
        if check(bal[n].ok and hold[n].ok, f"{n} reads its balances after the crash"):
            dark[n] = int(bal[n].out["dark_balance_units"])
            got = {t["symbol"]: int(t["amount_units"]) for t in hold[n].out["tokens"]}
            for sym in TOKENS:
                tok[sym][n] = got.get(sym, 0)
    audit("after the crash round (sums against issuance, custody and supply)")


def restart(sig, why=""):
    step(f"restart dev ({signal.Signals(sig).name}{', ' + why if why else ''})")
    height = dev.rpc("chain_info")["height"]
    synced = (dev.worker_status() or {}).get("synced_height", 0)
    dev.stop(sig)
    dev.start()
    m = re.findall(r"enclave started at height (\d+) \(from its checkpoint\)",
                   dev.log_since_start())
    check(m, f"after {signal.Signals(sig).name} the worker starts from its sealed checkpoint")
    if m:
        print(f"  worker resumed from its checkpoint at height {m[-1]} (chain at {height}, "
              f"worker at {synced})", flush=True)
    if sig == signal.SIGTERM:
        check(m and int(m[-1]) >= synced > 0,
              f"a graceful stop sealed a checkpoint where the worker was ({m} >= {synced})")
    ok = False
    deadline = time.time() + 60
    while time.time() < deadline and not ok:
        st = dev.worker_status()
        ok = st and st.get("synced_height", 0) >= dev.rpc("chain_info")["height"] - 1
        time.sleep(0.1)
    check(ok, "the worker catches up with the chain")


try:
    step("start tenebra dev")
    dev.start()
    found = dev.wait_contracts(timeout=150)
    if not check(found is not None, "dev deploys balances and assets"):
        raise RuntimeError("no contracts")
    assets_id = found["assets"]["id"]

    step("initial deposits and token issues")
    with ThreadPoolExecutor(len(NAMES)) as ex:
        first = [(n, "deposit", [], 200 * PHA + random_units(800 * PHA), True) for n in NAMES]
        for op, r in ex.map(run_op, first):
            apply(op, r)
    for sym, (owner, dec, supply) in TOKENS.items():
        r = dev.token("issue", "--from", owner, "--symbol", sym, "--decimals", dec, "--supply",
                      token_text(supply, dec))
        if check(r.ok, f"{owner} issues {sym} ({r})"):
            dark[owner] -= FEE
            fees_held += FEE
            tok[sym][owner] = supply
    audit("after the first deposits")

    t_ops = time.time()
    for rnd in range(ROUNDS):
        if rnd == ROUNDS // 3:
            audit(f"round {rnd}, before a graceful restart")
            restart(signal.SIGTERM)
        if rnd == ROUNDS // 2:
            audit(f"round {rnd}, before SIGKILL")
            restart(signal.SIGKILL)
            audit("after SIGKILL and restart")
        if rnd == 5 * ROUNDS // 6:
            crash_round(rnd)
            continue
        plan = plan_round()
        with ThreadPoolExecutor(len(plan)) as ex:
            results = list(ex.map(run_op, plan))
        bad = [apply(op, r) for op, r in results].count(False)
        if bad:
            print(f"  round {rnd}: {bad} op(s) went wrong (seed {seed})", flush=True)
        if rnd % 10 == 9:
            step(f"round {rnd + 1}/{ROUNDS}: {ops_run['ok']} ops applied, "
                 f"{ops_run['refused']} refused as planned")
    took = time.time() - t_ops
    n_ops = ops_run["ok"] + ops_run["refused"]
    print(f"{n_ops} ops in {took:.1f} s ({n_ops / took:.1f} ops/s, 5 accounts at once, each "
          f"op a CLI run that waits for its effect)", flush=True)
    audit("at the end")

    step("the deployer collects the issue fees")
    cmd = ("05" + dev_pubkey("alice").hex() + u128_le(fees_held).hex()).ljust(128, "0")
    r = dev.tn("contract", "command", assets_id, cmd, "--from", "alice")
    check(r.ok, f"collect command ({r})")
    deadline = time.time() + 30
    while time.time() < deadline:
        r = dev.dark("balance", "alice")
        if r.ok and int(r.out["dark_balance_units"]) == dark["alice"] + fees_held:
            break
        time.sleep(0.3)
    dark["alice"] += fees_held
    audit("after the fees are collected", collected=True)
    text = open(dev.log_path, errors="replace").read()
    check("Sanitizer" not in text and "runtime error:" not in text, "no sanitizer reports")
except Exception:
    import traceback
    traceback.print_exc()
    check(False, "the test ran to its end")
finally:
    dev.cleanup()
    print(f"random seed = {seed} (set TENEBRA_TEST_SEED to replay)", flush=True)
finish()
