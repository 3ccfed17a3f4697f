// Interop of src/crypto/envelope.c and kdf.c (through <build>/tools/envelope_tool) with
// independent implementations: @hpke/core for HPKE, node:crypto for HKDF, Ed25519 and the
// response AEADs, @polkadot/util-crypto for BLAKE2b. Checks, for both AEADs where the CPU has
// AES-NI:
//   - the key tree (master -> cluster -> contract -> HPKE and Ed25519 keys) recomputed in JS;
//   - commands: JS seals -> C opens; C seals byte-identically to JS with the same ephemeral;
//   - queries: JS builds and signs a query (by the account, or by a certified session key), C opens
//     it and answers, JS opens the answer with its exported response key; C refuses what JS
//     tampered with;
//   - session queries (HPKE auth mode from a certified X25519 session key, @hpke/core senderKey):
//     JS builds them and C opens and answers; C builds them byte-identically to JS and JS opens
//     them with senderPublicKey; C refuses a wrong session key, another account's or chain's
//     certificate, an expired one, an Ed25519-kind certificate and tampered bytes;
//   - key shares: JS reproduces the deterministic gatekeeper bytes and opens them.
// Usage: node envelope.test.mjs <build dir>   (cwd tests/js, after npm install)
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  randomBytes,
  sign,
} from "node:crypto";
import { blake2AsU8a, cryptoWaitReady } from "@polkadot/util-crypto";
import { check, checkCount, finish, hex, suites, toolPath, toolRunner } from "./util.mjs";

const c = toolRunner(toolPath("envelope_tool"));
const buf = (h) => Buffer.from(h, "hex");
const ab = (b) => new Uint8Array(b).buffer;
const te = (s) => Buffer.from(s, "utf8");
const cat = (...parts) => Buffer.concat(parts.map((p) => Buffer.from(p)));
const u64 = (n) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u16 = (n) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
function uleb(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return Buffer.from(out);
}

const aeadId = { chacha20poly1305: 3, aes256gcm: 2 };
const nodeAead = { chacha20poly1305: "chacha20-poly1305", aes256gcm: "aes-256-gcm" };

// --- the key tree (docs/protocol/keys.md) ---------------------------------------------------------
function kdfDerive(key, label, ctx, len = 32) {
  const info = cat(uleb(label.length), te(label), uleb(ctx.length), ctx, u16(len));
  return Buffer.from(hkdfSync("sha256", key, te("tenebra/v1/kdf"), info, len));
}
const ed25519Pkcs8 = buf("302e020100300506032b657004220420");
const edPriv = (seed) => createPrivateKey({ key: cat(ed25519Pkcs8, seed), format: "der", type: "pkcs8" });
const edPub = (priv) => createPublicKey(priv).export({ format: "der", type: "spki" }).subarray(-32);
const kem = suites.chacha20poly1305.kem;
async function hpkeKeys(key) {
  const kp = await kem.deriveKeyPair(ab(kdfDerive(key, "tenebra/v1/hpke-key", Buffer.alloc(0))));
  return { pk: hex(await kem.serializePublicKey(kp.publicKey)), sk: hex(await kem.serializePrivateKey(kp.privateKey)) };
}

async function testKeyTree() {
  for (let i = 0; i < 4; i++) {
    const master = randomBytes(32);
    const clusterId = [0, 1, 7, 0xfffffffe][i];
    const contractId = randomBytes(32);
    const cluster = kdfDerive(master, "tenebra/v1/cluster", u32(clusterId));
    const contract = kdfDerive(cluster, "tenebra/v1/contract", contractId);
    const want = await hpkeKeys(contract);
    const signPk = hex(edPub(edPriv(kdfDerive(contract, "tenebra/v1/sign-key", Buffer.alloc(0)))));
    const got = c("contract-key", hex(master), String(clusterId), hex(contractId)).out.split(" ");
    check(got[0] === want.pk && got[1] === want.sk, `key tree: contract HPKE key (cluster ${clusterId})`);
    check(got[2] === signPk, `key tree: contract Ed25519 key (cluster ${clusterId})`);
  }
}

// --- commands -------------------------------------------------------------------------------------
async function testCommands(name, keys) {
  const suite = suites[name];
  const chain = randomBytes(32), contract = randomBytes(32), sender = randomBytes(32);
  const nonce = 0x1122334455667788n;
  const info = cat(te("tenebra/v1/command"), contract);
  const aad = cat(chain, contract, sender, u64(nonce));
  const args = [hex(chain), hex(contract), hex(sender), nonce.toString()];
  const recipientPublicKey = await suite.kem.deserializePublicKey(ab(buf(keys.pk)));
  for (const len of [0, 1, 33, 1000]) {
    const pt = randomBytes(len);
    const ctx = await suite.createSenderContext({ recipientPublicKey, info: ab(info) });
    const env = cat(Buffer.from(ctx.enc), Buffer.from(await ctx.seal(ab(pt), ab(aad))));
    const o = c("command-open", name, keys.sk, ...args, hex(env));
    check(o.code === 0 && o.out === hex(pt), `${name}: JS command -> C open (${len} bytes)`);
    const wrongNonce = [args[0], args[1], args[2], (nonce + 1n).toString()];
    check(c("command-open", name, keys.sk, ...wrongNonce, hex(env)).code === 1, `${name}: C refuses a command under another nonce`);
    const wrongSender = [args[0], args[1], hex(randomBytes(32)), args[3]];
    check(c("command-open", name, keys.sk, ...wrongSender, hex(env)).code === 1, `${name}: C refuses a command from another sender`);
  }
  // C seals with a given ephemeral seed; JS with the same seed emits the same bytes and opens C's.
  const ikmE = randomBytes(32), pt = te("transfer 5 PHA");
  const ekm = await suite.kem.deriveKeyPair(ab(ikmE));
  const ctx = await suite.createSenderContext({ recipientPublicKey, info: ab(info), ekm });
  const jsEnv = cat(Buffer.from(ctx.enc), Buffer.from(await ctx.seal(ab(pt), ab(aad))));
  const cEnv = c("command-seal", name, keys.pk, ...args, hex(pt), hex(ikmE));
  check(cEnv.code === 0 && cEnv.out === hex(jsEnv), `${name}: C command byte-identical to JS`);
  const rctx = await suite.createRecipientContext({
    recipientKey: await suite.kem.deserializePrivateKey(ab(buf(keys.sk))),
    enc: ab(buf(cEnv.out).subarray(0, 32)),
    info: ab(info),
  });
  const back = Buffer.from(await rctx.open(ab(buf(cEnv.out).subarray(32)), ab(aad)));
  check(back.equals(pt), `${name}: C command -> JS open`);
}

// --- queries --------------------------------------------------------------------------------------
function certBytes(chain, accountPriv, sessionPk, expiry) {
  const account = edPub(accountPriv);
  const body = cat(account, sessionPk, u64(expiry));
  const sig = sign(null, cat(te("tenebra/v1/session-cert"), chain, body), accountPriv);
  return cat(body, sig);
}

// Builds a signed query message; returns it with what the client keeps.
async function jsQuery(name, keys, chain, contract, expiry, request, signer) {
  const suite = suites[name];
  const requestId = randomBytes(32);
  const origin = signer.cert ? signer.cert.subarray(0, 32) : (signer.claim ?? edPub(signer.priv));
  const info = cat(te("tenebra/v1/query"), contract);
  const aad = cat(chain, contract, origin);
  const pt = cat(requestId, u64(expiry), uleb(request.length), request);
  const recipientPublicKey = await suite.kem.deserializePublicKey(ab(buf(keys.pk)));
  const ctx = await suite.createSenderContext({ recipientPublicKey, info: ab(info) });
  const env = cat(Buffer.from(ctx.enc), Buffer.from(await ctx.seal(ab(pt), ab(aad))));
  const auth = signer.cert ? cat([1], signer.cert) : cat([0], origin);
  const head = cat([1], u16(aeadId[name]), contract, auth, uleb(env.length), env);
  const digest = blake2AsU8a(head, 256);
  const sig = sign(null, cat(te("tenebra/v1/query-sig"), chain, digest), signer.priv);
  const responseKey = Buffer.from(await ctx.export(ab(te("tenebra/v1/response")), 32));
  return { msg: cat(head, sig), requestId, responseKey };
}

// answer = nonce [12] ‖ ct ‖ tag [16], aad = request id.
function openResponse(name, key, requestId, answer) {
  const nonce = answer.subarray(0, 12), body = answer.subarray(12, answer.length - 16);
  const d = createDecipheriv(nodeAead[name], key, nonce, { authTagLength: 16 });
  d.setAAD(requestId, { plaintextLength: body.length });
  d.setAuthTag(answer.subarray(answer.length - 16));
  return Buffer.concat([d.update(body), d.final()]);
}

async function testQueries(name, keys) {
  const chain = randomBytes(32), contract = randomBytes(32);
  const alice = edPriv(randomBytes(32)), session = edPriv(randomBytes(32)), bob = edPriv(randomBytes(32));
  const signers = {
    account: { priv: alice },
    session: { priv: session, cert: certBytes(chain, alice, edPub(session), 5000) },
  };
  for (const [kind, signer] of Object.entries(signers)) {
    const request = te(`get balance (${kind})`);
    const q = await jsQuery(name, keys, chain, contract, 1234, request, signer);
    const answer = te("balance: 42 PHA");
    const o = c("query-answer", keys.sk, hex(chain), hex(contract), "1234", hex(q.msg), hex(answer));
    const [rid, account, expiry, req, resp] = o.out.split(" ");
    check(o.code === 0, `${name}/${kind}: C opens the JS query ${o.err ?? ""}`);
    check(rid === hex(q.requestId) && account === hex(edPub(alice)), `${name}/${kind}: request id and origin account`);
    check(expiry === "1234" && req === hex(request), `${name}/${kind}: expiry and request`);
    let opened = null;
    try {
      opened = openResponse(name, q.responseKey, q.requestId, buf(resp || ""));
    } catch {
      opened = null;
    }
    check(opened !== null && opened.equals(answer), `${name}/${kind}: JS opens the C answer with its exported key`);
    let other = null;
    try {
      other = openResponse(name, q.responseKey, randomBytes(32), buf(resp || ""));
    } catch {
      other = null;
    }
    check(other === null, `${name}/${kind}: the answer does not open under another request id`);
    const again = c("query-answer", keys.sk, hex(chain), hex(contract), "1234", hex(q.msg), hex(answer)).out.split(" ")[4];
    check(again && again.slice(0, 24) !== resp.slice(0, 24), `${name}/${kind}: a replayed query is answered under a fresh nonce`);

    const refuse = (msg, height, what, contractId = contract) => {
      const r = c("query-answer", keys.sk, hex(chain), hex(contractId), String(height), hex(msg), "00");
      check(r.code === 1, `${name}/${kind}: C refuses ${what}`);
    };
    refuse(q.msg, 1235, "an expired query");
    refuse(q.msg, 1, "a query for another contract", randomBytes(32));
    const t = Buffer.from(q.msg);
    t[t.length - 1] ^= 1;
    refuse(t, 1, "a flipped signature bit");
    const u = Buffer.from(q.msg);
    u[u.length - 64 - 20] ^= 0x10;
    refuse(u, 1, "a flipped ciphertext bit");
    const byBob = await jsQuery(name, keys, chain, contract, 1234, request, { priv: bob, cert: signer.cert, claim: edPub(alice) });
    refuse(byBob.msg, 1, "a query signed by another key than the one it names");
  }
  const expiredCert = { priv: session, cert: certBytes(chain, alice, edPub(session), 10) };
  const q = await jsQuery(name, keys, chain, contract, 1234, te("x"), expiredCert);
  check(c("query-answer", keys.sk, hex(chain), hex(contract), "10", hex(q.msg), "00").code === 0, `${name}: session certificate valid at its expiry height`);
  check(c("query-answer", keys.sk, hex(chain), hex(contract), "11", hex(q.msg), "00").code === 1, `${name}: C refuses an expired session certificate`);
  const bobCert = { priv: session, cert: certBytes(chain, bob, edPub(session), 5000) };
  const forged = Buffer.from(bobCert.cert);
  edPub(alice).copy(forged, 0); // claims alice, signed by bob
  const qf = await jsQuery(name, keys, chain, contract, 1234, te("x"), { priv: session, cert: forged });
  check(c("query-answer", keys.sk, hex(chain), hex(contract), "1", hex(qf.msg), "00").code === 1, `${name}: C refuses a certificate for another account`);
}

// --- session queries (auth 2) ---------------------------------------------------------------------
function certBytesX(chain, accountPriv, sessionPk, expiry, tag = "tenebra/v1/session-cert-x25519") {
  const body = cat(edPub(accountPriv), sessionPk, u64(expiry));
  return cat(body, sign(null, cat(te(tag), chain, body), accountPriv));
}

// A session query sealed in auth mode by senderKey (a CryptoKeyPair), certified by cert; ekm
// (optional) fixes the ephemeral.
async function jsSession(name, keys, chain, contract, expiry, request, senderKey, cert, requestId, ekm) {
  const suite = suites[name];
  const info = cat(te("tenebra/v1/query"), contract);
  const aad = cat(chain, contract, cert.subarray(0, 32));
  const pt = cat(requestId, u64(expiry), uleb(request.length), request);
  const recipientPublicKey = await suite.kem.deserializePublicKey(ab(buf(keys.pk)));
  const ctx = await suite.createSenderContext({ recipientPublicKey, senderKey, info: ab(info), ...(ekm ? { ekm } : {}) });
  const env = cat(Buffer.from(ctx.enc), Buffer.from(await ctx.seal(ab(pt), ab(aad))));
  const msg = cat([1], u16(aeadId[name]), contract, [2], cert, uleb(env.length), env);
  return { msg, responseKey: Buffer.from(await ctx.export(ab(te("tenebra/v1/response")), 32)) };
}

async function testSessions(name, keys) {
  const suite = suites[name];
  const chain = randomBytes(32), contract = randomBytes(32);
  const alice = edPriv(randomBytes(32)), bob = edPriv(randomBytes(32));
  const s = await suite.kem.generateKeyPair(), t = await suite.kem.generateKeyPair();
  const spk = Buffer.from(await suite.kem.serializePublicKey(s.publicKey));
  const ssk = Buffer.from(await suite.kem.serializePrivateKey(s.privateKey));
  const cert = certBytesX(chain, alice, spk, 5000);
  const request = te("get balance (session)"), answer = te("balance: 42 PHA");
  const rid = randomBytes(32);
  const q = await jsSession(name, keys, chain, contract, 1234, request, s, cert, rid);
  const ask = (msg, height = 1, contractId = contract, chainId = chain) =>
    c("query-answer", keys.sk, hex(chainId), hex(contractId), String(height), hex(msg), hex(answer));
  const o = ask(q.msg, 1234);
  const [orid, account, expiry, req, resp] = o.out.split(" ");
  check(o.code === 0, `${name}/session: C opens the JS session query ${o.err ?? ""}`);
  check(orid === hex(rid) && account === hex(edPub(alice)), `${name}/session: request id and the certifying account`);
  check(expiry === "1234" && req === hex(request), `${name}/session: expiry and request`);
  let opened = null;
  try {
    opened = openResponse(name, q.responseKey, rid, buf(resp || ""));
  } catch {
    opened = null;
  }
  check(opened !== null && opened.equals(answer), `${name}/session: JS opens the C answer with its exported key`);

  // C seals the same query (same request id and ephemeral) byte for byte, and JS opens C's
  const ikmE = randomBytes(32);
  const cs = c("session-seal", name, keys.pk, hex(chain), hex(contract), "1234", hex(ssk), hex(cert), hex(request), hex(cat(rid, ikmE)));
  const [cmsg, crid, ckey] = cs.out.split(" ");
  const det = await jsSession(name, keys, chain, contract, 1234, request, s, cert, rid, await suite.kem.deriveKeyPair(ab(ikmE)));
  check(cs.code === 0 && cmsg === hex(det.msg), `${name}/session: C session query byte-identical to JS`);
  check(crid === hex(rid) && ckey === hex(det.responseKey), `${name}/session: C keeps the same request id and response key`);
  const env = buf(cmsg).subarray(1 + 2 + 32 + 1 + 136 + 1);
  const rctx = await suites[name].createRecipientContext({
    recipientKey: await suite.kem.deserializePrivateKey(ab(buf(keys.sk))),
    enc: ab(env.subarray(0, 32)),
    info: ab(cat(te("tenebra/v1/query"), contract)),
    senderPublicKey: s.publicKey,
  });
  const pt = Buffer.from(await rctx.open(ab(env.subarray(32)), ab(cat(chain, contract, edPub(alice)))));
  check(pt.subarray(0, 32).equals(rid) && pt.subarray(41).equals(request), `${name}/session: JS opens the C session query as the contract`);

  const refuse = (msg, what, height = 1, contractId = contract, chainId = chain) =>
    check(ask(msg, height, contractId, chainId).code === 1, `${name}/session: C refuses ${what}`);
  refuse(q.msg, "an expired query", 1235);
  refuse(q.msg, "a session query on another chain", 1, contract, randomBytes(32));
  refuse(q.msg, "a session query for another contract", 1, randomBytes(32));
  const byT = await jsSession(name, keys, chain, contract, 1234, request, t, cert, rid);
  refuse(byT.msg, "a session query sealed by another session key than the certified one");
  const forged = Buffer.from(certBytesX(chain, bob, spk, 5000));
  edPub(alice).copy(forged, 0); // claims alice, signed by bob
  refuse((await jsSession(name, keys, chain, contract, 1234, request, s, forged, rid)).msg, "a certificate for another account");
  const bobs = certBytesX(chain, bob, spk, 5000); // bob's genuine cert, swapped into alice's query
  const swapped = Buffer.from(q.msg);
  bobs.copy(swapped, 36);
  refuse(swapped, "alice's envelope under bob's certificate");
  const otherChain = certBytesX(randomBytes(32), alice, spk, 5000);
  refuse((await jsSession(name, keys, chain, contract, 1234, request, s, otherChain, rid)).msg, "a certificate for another chain");
  const edKind = certBytesX(chain, alice, spk, 5000, "tenebra/v1/session-cert");
  refuse((await jsSession(name, keys, chain, contract, 1234, request, s, edKind, rid)).msg, "an Ed25519-kind certificate");
  const short = certBytesX(chain, alice, spk, 10);
  const qs = await jsSession(name, keys, chain, contract, 1234, request, s, short, rid);
  check(ask(qs.msg, 10).code === 0, `${name}/session: certificate valid at its expiry height`);
  refuse(qs.msg, "an expired session certificate", 11);
  for (const i of [0, 3, 35, 36, 70, 110, 171, 180, q.msg.length - 1]) {
    const b = Buffer.from(q.msg);
    b[i] ^= 0x10;
    refuse(b, `a flipped byte at ${i}`);
  }
}

// --- key shares -----------------------------------------------------------------------------------
async function testKeyShare(keys) {
  const suite = suites.chacha20poly1305;
  const master = randomBytes(32), chain = randomBytes(32), sender = randomBytes(32), recipient = randomBytes(32);
  const secret = randomBytes(32), purpose = "cluster", seq = 41n;
  const aad = cat(chain, sender, recipient, u64(seq), te(purpose));
  const ikmE = kdfDerive(master, "tenebra/v1/keyshare-eph", cat(aad, buf(keys.pk), blake2AsU8a(secret, 256)));
  const ekm = await suite.kem.deriveKeyPair(ab(ikmE));
  const info = cat(te("tenebra/v1/keyshare"), buf(keys.pk));
  const recipientPublicKey = await suite.kem.deserializePublicKey(ab(buf(keys.pk)));
  const ctx = await suite.createSenderContext({ recipientPublicKey, info: ab(info), ekm });
  const jsEnv = cat(Buffer.from(ctx.enc), Buffer.from(await ctx.seal(ab(secret), ab(aad))));
  const args = [hex(master), keys.pk, hex(chain), hex(sender), hex(recipient), seq.toString(), purpose, hex(secret)];
  const a = c("keyshare-seal", ...args), b = c("keyshare-seal", ...args);
  check(a.code === 0 && a.out === b.out, "keyshare: C output is deterministic");
  check(a.out === hex(jsEnv), "keyshare: JS reproduces the gatekeeper bytes");
  const rctx = await suite.createRecipientContext({
    recipientKey: await suite.kem.deserializePrivateKey(ab(buf(keys.sk))),
    enc: ab(buf(a.out).subarray(0, 32)),
    info: ab(info),
  });
  check(Buffer.from(await rctx.open(ab(buf(a.out).subarray(32)), ab(aad))).equals(secret), "keyshare: JS opens it");
  const next = c("keyshare-seal", ...args.slice(0, 5), "42", purpose, hex(secret));
  check(next.code === 0 && next.out.slice(0, 64) !== a.out.slice(0, 64), "keyshare: another sequence number, another ephemeral");
}

await cryptoWaitReady();
const keys = await hpkeKeys(randomBytes(32));
const before0 = checkCount();
await testKeyTree();
console.log(`ok   key tree: ${checkCount() - before0} checks`);
const aesProbe = (() => {
  try {
    createCipheriv("aes-256-gcm", Buffer.alloc(32), Buffer.alloc(12));
  } catch {
    return false;
  }
  // C refuses AES-256-GCM on CPUs without AES-NI: probe through a command seal.
  const z = "00".repeat(32);
  return c("command-seal", "aes256gcm", keys.pk, z, z, z, "0", "", z).code === 0;
})();
for (const name of ["chacha20poly1305", "aes256gcm"]) {
  if (name === "aes256gcm" && !aesProbe) {
    console.log("skip aes256gcm: envelope_tool reports AES-256-GCM unavailable on this CPU");
    continue;
  }
  const before = checkCount();
  await testCommands(name, keys);
  await testQueries(name, keys);
  await testSessions(name, keys);
  console.log(`ok   ${name}: ${checkCount() - before} checks`);
}
const before1 = checkCount();
await testKeyShare(keys);
console.log(`ok   key share: ${checkCount() - before1} checks`);
finish();
