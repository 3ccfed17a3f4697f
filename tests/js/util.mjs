// Shared by the interop tests (*.test.mjs): the build directory argument, the check counter and
// summary, hex helpers, running a C tool from <build>/tools and the two HPKE suites of the profile.
import { execFileSync } from "node:child_process";
import { basename, join } from "node:path";
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";

// <build dir>/tools/<name>, from the command line (exits 2 with a usage line when it is missing).
export function toolPath(name) {
  const buildDir = process.argv[2];
  if (!buildDir) {
    console.error(`usage: node ${basename(process.argv[1])} <build dir>`);
    process.exit(2);
  }
  return join(buildDir, "tools", name);
}

let checks = 0;
let failures = 0;

export function check(cond, what) {
  checks++;
  if (!cond) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}

// How many checks ran so far (to report a section's share).
export const checkCount = () => checks;

// Prints the totals and exits: 0 when every check passed, else 1.
export function finish() {
  console.log(`${checks} checks, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

export const hex = (b) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString("hex");

// A function running tool with its arguments: {code, out (stdout trimmed), err (stderr on failure)}.
export function toolRunner(tool) {
  return (...args) => {
    try {
      return { code: 0, out: execFileSync(tool, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim() };
    } catch (e) {
      return { code: e.status, out: "", err: String(e.stderr) };
    }
  };
}

export const suites = {
  chacha20poly1305: new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() }),
  aes256gcm: new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() }),
};
