"""`tenebra dev` as a newcomer runs it: the banner, the default data directory under
TENEBRA_HOME, a password-protected key created and used through the CLI, a clean stop and a
restart that resumes, and --reset."""
import json
import signal
import subprocess

from tnlib import *

home = tempfile.mkdtemp(prefix="tn-home-")
env = {"TENEBRA_HOME": home}
dev = Node(cmd="dev", env=env, pass_data=False, data_dir=os.path.join(home, "dev"))


def cli(*args, password=None):
    e = dict(env)
    if password is not None:
        e["TENEBRA_PASSWORD"] = password
    return dev.cli(*args, env=e)


try:
    dev.start()
    dev.wait_height(1)
    banner = dev.wait_log("stop          Ctrl-C", n=60)  # the banner's last line
    check("Tenebra dev network is running" in banner and f"127.0.0.1:{dev.port}" in banner,
          "banner says what runs where")
    check(all(name in banner for name in DEV), "banner lists the dev accounts")
    check(os.path.exists(os.path.join(home, "dev", "data.mdb")), "data in $TENEBRA_HOME/dev")

    code, out, err = cli("--json", "key", "new", "carol", password="correct horse")
    check(code == 0, f"key new ({err.strip()})")
    carol = json.loads(out)["address"] if code == 0 else ""
    keyfile = os.path.join(home, "keys", "carol.json")
    check(os.path.exists(keyfile) and (os.stat(keyfile).st_mode & 0o777) == 0o600,
          "key file written with mode 0600")
    with open(keyfile) as f:
        check("correct horse" not in f.read(), "the password is not in the key file")
    code, out, _ = cli("key", "list")
    check(code == 0 and "carol" in out and carol in out, "key list shows carol")
    code, _, err = cli("key", "new", "carol", password="x")
    check(code != 0 and "carol" in err, "key new refuses an existing name")

    code, out, err = cli("--json", "transfer", "--from", "alice", "--to", "carol", "5")
    check(code == 0 and json.loads(out)["success"], f"fund carol ({err.strip()})")
    before = dev.rpc("account_get", carol)
    code, _, err = cli("transfer", "--from", "carol", "--to", "bob", "1", password="wrong")
    check(code != 0 and len(err.strip().splitlines()) == 1, f"wrong password refused ({err.strip()})")
    after = dev.rpc("account_get", carol)
    check((after["balance"], after["nonce"]) == (before["balance"], before["nonce"]),
          "a refused transfer changes nothing")
    code, out, err = cli("--json", "transfer", "--from", "carol", "--to", "bob", "1",
                         password="correct horse")
    check(code == 0 and json.loads(out)["success"], f"carol pays bob with her key ({err.strip()})")
    bal = dev.balance(carol)
    check(bal < 4 * PHA and bal > 4 * PHA - PHA // 100, "carol has 4 PHA minus one fee")

    # A second process on the same data directory is refused and leaves the first alone.
    second = subprocess.run([BIN, "dev", "--rpc", f"127.0.0.1:{free_port()}"], capture_output=True,
                            text=True, env=dict(os.environ, **env), timeout=30)
    check(second.returncode == 1 and "in use by another" in second.stderr,
          f"a second dev on the same directory is refused ({second.stderr.strip()[-120:]})")
    reset = subprocess.run([BIN, "dev", "--reset", "--rpc", f"127.0.0.1:{free_port()}"],
                           capture_output=True, text=True, env=dict(os.environ, **env), timeout=30)
    check(reset.returncode == 1 and "cannot reset" in reset.stderr,
          "--reset refuses while the chain is running")
    check(dev.balance(carol) == bal and dev.wait_height(dev.rpc("chain_info")["height"] + 1),
          "the running node is unaffected and keeps producing")

    height = dev.rpc("chain_info")["height"]
    check(dev.stop(signal.SIGTERM) == 0, "SIGTERM stops dev cleanly (exit 0)")
    dev.start()
    check(dev.rpc("chain_info")["height"] >= height, "restart resumes the chain")
    check(dev.balance(carol) == bal, "restart keeps balances")
    dev.stop()

    dev.extra = ["--reset"]
    dev.start()
    check(dev.rpc("chain_info")["height"] < height, "--reset starts a fresh chain")
    check(dev.balance(carol) == 0, "--reset forgets carol's funds")
finally:
    dev.cleanup()
    shutil.rmtree(home, ignore_errors=True)
finish()
