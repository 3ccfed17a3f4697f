"""Bad input against a real node: every case gets a clear error and changes nothing."""
import glob
import json
import struct
import subprocess
import urllib.error
import urllib.request

from tnlib import *

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "genesis")


def pubkey(name):
    return subprocess.run([TXGEN, "--pubkey", name], capture_output=True, text=True,
                          check=True).stdout.strip()


def snapshot(n):
    """What must not change: every dev account, the pool, and the state root."""
    accts = {d: n.rpc("account_get", pubkey(d)) for d in DEV}
    pool = n.rpc("mempool_status")
    return ({d: (a["balance"], a["nonce"]) for d, a in accts.items()},
            (pool["ready"], pool["future"]), n.rpc("header_get", "latest")["state_root"])


def rejected(n, hexstr, expect, what):
    code, msg = n.rpc_error("tx_submit", hexstr)
    ok = code is not None and expect.lower() in (msg or "").lower()
    check(ok, f"{what}: rejected with '{expect}' (got {code}: {msg})")


def tx_cases(n, info):
    chain = info["chain_id"]
    bob = pubkey("bob")
    h = info["height"]
    base = {"from": "alice", "chain": chain, "nonce": n.rpc("account_get", pubkey("alice"))["nonce"],
            "valid-until": h + 100, "max-fee": 10 ** 12, "to": bob, "amount": PHA}
    good, _ = txgen(**base)
    rejected(n, "zz", "hex", "non-hex tx")
    rejected(n, "00" * 10, "malformed", "garbage bytes")
    rejected(n, good[: len(good) // 2], "truncated", "truncated tx")
    rejected(n, good + "00", "trailing", "trailing bytes")
    sig_flipped = good[:-2] + ("00" if good[-2:] != "00" else "01")
    rejected(n, sig_flipped, "signature", "bad signature")
    body_flipped = good[:200] + ("0" if good[200] != "0" else "1") + good[201:]
    rejected(n, body_flipped, "signature", "tampered body")
    rejected(n, txgen(**{**base, "chain": "ab" * 32})[0], "chain", "wrong chain id")
    rejected(n, txgen(**{**base, "valid-until": max(h - 1, 0)})[0], "expired", "expired valid-until")
    rejected(n, txgen(**{**base, "valid-until": h + 100000})[0], "valid", "far-future valid-until")
    rejected(n, txgen(**{**base, "nonce": base["nonce"] + 1000})[0], "nonce", "far-future nonce")
    rejected(n, txgen(**{**base, "amount": 10 ** 30})[0], "balance", "amount above balance")
    rejected(n, txgen(**{**base, "max-fee": 1})[0], "max_fee", "fee above max_fee")
    rejected(n, txgen(**{**base, "amount": 0})[0], "zero", "zero amount")
    rejected(n, good + "00" * (65 * 1024), "large", "oversized tx")
    rejected(n, txgen(**{**base, "module": 9, "function": 0, "payload": "00"})[0], "module",
             "unknown module")
    return base


def post_bin(n, path, body, ctype="application/octet-stream"):
    """POST body to path; returns (HTTP status, answer bytes)."""
    req = urllib.request.Request(n.url + path, data=body, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def post_txs(n, body):
    """POST /txs; returns (HTTP status, parsed JSON body)."""
    status, answer = post_bin(n, "/txs", body)
    return status, json.loads(answer)


def bulk_cases(n, base):
    """POST /txs: bad framing refuses the whole body; otherwise each tx gets its own verdict."""
    good = bytes.fromhex(txgen(**{**base, "nonce": base["nonce"] + 1})[0])
    status, body = post_txs(n, uleb_encode(len(good)) + good + uleb_encode(500) + b"\x01\x02")
    check(status == 400 and "transaction 1" in body["error"]["message"],
          f"truncated bulk body refused whole ({status}: {body})")
    status, body = post_txs(n, b"\x80\x00" + good)
    check(status == 400 and "canonical" in body["error"]["message"],
          f"non-canonical length refused ({body})")
    bad_sig = good[:-1] + bytes([good[-1] ^ 1])
    status, body = post_txs(n, uleb_encode(len(bad_sig)) + bad_sig + uleb_encode(3) + b"abc")
    res = body.get("results", [])
    check(status == 200 and len(res) == 2 and "signature" in res[0]["error"]["message"]
          and "malformed" in res[1]["error"]["message"], f"per-tx verdicts ({body})")
    req = urllib.request.Request(n.url + "/txs", data=b"[]",
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=10)
        check(False, "POST /txs with a JSON content type must be refused")
    except urllib.error.HTTPError as e:
        check(e.code == 415, "POST /txs requires application/octet-stream")


def feeds_cases(n):
    """POST /feeds: a malformed request gets 400 and a JSON error; a good one the same feeds as
    chain_feed, as a binary batch; past the head an empty batch."""
    for body, what in ((b"\x01\x00\x00", "a short body"),
                       (struct.pack("<QH", 0, 1), "from 0"),
                       (struct.pack("<QH", 1, 0), "count 0"),
                       (struct.pack("<QH", 1, 65), "count 65"),
                       (struct.pack("<QHB", 1, 1, 0), "a trailing byte")):
        status, answer = post_bin(n, "/feeds", body)
        msg = json.loads(answer).get("error", {}).get("message", "") if status == 400 else ""
        check(status == 400 and "count u16" in msg, f"POST /feeds refuses {what} ({status} {msg})")
    status, answer = post_bin(n, "/feeds", struct.pack("<QH", 1, 2))
    head, feeds = feed_batch_parse(answer) if status == 200 else (0, [])
    want = [bytes.fromhex(f) for f in n.rpc("chain_feed", 1, 2)["feeds"]]
    check(status == 200 and len(feeds) == min(2, head) >= 1 and feeds == want,
          f"POST /feeds serves blocks 1.. as chain_feed does ({status}, {len(feeds)} feeds, "
          f"head {head})")
    status, answer = post_bin(n, "/feeds", struct.pack("<QH", head + 1000, 64))
    check(status == 200 and len(answer) == 10 and struct.unpack("<QH", answer)[1] == 0,
          "POST /feeds past the head: an empty batch")
    status, _ = post_bin(n, "/feeds", b"{}", "application/json")
    check(status == 415, f"POST /feeds requires application/octet-stream ({status})")


def duplicate_and_stale(n, info, base):
    hx, txid = txgen(**base)
    check(n.rpc("tx_submit", hx)["txid"] == txid, "first submission accepted")
    rejected(n, hx, "already", "duplicate tx")
    check(n.wait_included(txid) is not None, "tx included")
    rejected(n, hx, "", "re-submitting an included tx")
    stale, _ = txgen(**{**base, "amount": 2 * PHA})  # same nonce, now used
    rejected(n, stale, "stale", "stale nonce")


def rpc_cases(n):
    def raw(body):
        return json.loads(n.post(body.encode()))

    r = raw("{not json")
    check(r.get("error", {}).get("code") == -32700, "bad JSON -> -32700")
    r = raw('{"jsonrpc":"2.0","id":1,"method":"no_such_method"}')
    check(r.get("error", {}).get("code") == -32601 and "no_such_method" in r["error"]["message"],
          "unknown method -> -32601 naming it")
    r = raw('{"jsonrpc":"1.0","id":1,"method":"chain_info"}')
    check(r.get("error", {}).get("code") == -32600, "wrong jsonrpc version -> -32600")
    code, msg = n.rpc_error("account_get", 42)
    check(code == -32602 and "address" in msg, f"wrong param type -> -32602 ({msg})")
    code, msg = n.rpc_error("account_get", "not-an-address")
    check(code == -32602 and "invalid account" in msg, f"bad address -> -32602 ({msg})")
    code, msg = n.rpc_error("block_get", 10 ** 9)
    check(code == -32011, f"missing block -> not found ({msg})")
    code, msg = n.rpc_error("chain_info", 1, 2)
    check(code == -32602, f"extra params -> -32602 ({msg})")
    code, msg = n.rpc_error("tx_status", "xyz")
    check(code == -32602 and "txid" in msg, f"bad txid -> -32602 ({msg})")


def cli_cases(n):
    code, out, err = n.cli("balance", "zed")
    check(code != 0 and "unknown account 'zed'" in err and out == "", "cli: unknown account")
    code, out, err = n.cli("transfer", "--from", "alice", "--to", "zed", "1")
    check(code != 0 and "zed" in err and len(err.strip().splitlines()) == 1,
          "cli: unknown recipient, one-line error")
    code, out, err = n.cli("transfer", "--from", "nobody", "--to", "bob", "1")
    check(code != 0 and "nobody" in err, "cli: unknown sender")
    code, out, err = n.cli("transfer", "--from", "alice", "--to", "bob", "-1")
    check(code != 0 and err.strip() != "", "cli: negative amount")
    code, out, err = n.cli("transfer", "--from", "alice", "--to", "bob", "99999999999")
    check(code != 0 and "balance" in err.lower(), f"cli: overdraft refused ({err.strip()})")


def genesis_cases():
    for path in sorted(glob.glob(os.path.join(VECTORS, "*.json"))):
        name = os.path.basename(path)
        if name in ("dev.json", "valid-reordered.json"):
            continue
        tmp = tempfile.mkdtemp(prefix="tn-gen-")
        p = subprocess.run([BIN, "node", "--genesis", path, "--validator-key", "/nonexistent",
                            "--data", os.path.join(tmp, "d"), "--rpc", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=30)
        lines = p.stderr.strip().splitlines()
        check(p.returncode != 0 and lines and "genesis" in lines[-1],
              f"corrupt genesis {name} refused clearly ({lines[-1:] if lines else ''})")
        check(not os.path.exists(os.path.join(tmp, "d", "data.mdb")),
              f"corrupt genesis {name} created no database")
        shutil.rmtree(tmp, ignore_errors=True)


n = Node(block_time=200).start()
try:
    n.wait_height(1)
    info = n.rpc("chain_info")
    before = snapshot(n)
    base = tx_cases(n, info)
    rpc_cases(n)
    cli_cases(n)
    bulk_cases(n, base)
    feeds_cases(n)
    n.wait_height(n.rpc("chain_info")["height"] + 2)
    check(snapshot(n) == before, "no bad input changed any balance, nonce, pool or state root")
    duplicate_and_stale(n, info, base)
finally:
    n.cleanup()
genesis_cases()
finish()
