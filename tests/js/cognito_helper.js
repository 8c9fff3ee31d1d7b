// Drives the unmodified amazon-cognito-identity-js AuthenticationHelper (and DateHelper) as an
// independent Cognito SRP client for the Python tests.
//
// Input on stdin: a JSON array of cases; output on stdout: a JSON array of results, same order.
// Determinism without touching the package: the helper's randomness comes from
// crypto.getRandomValues, which this script replaces with a queue of bytes given by each case;
// the TIMESTAMP comes from `new Date()`, which this script pins to the case's epoch.
//
// Case kinds:
//   {kind: "srp", a_hex, pool, identity, secret, B_hex, salt_hex, secret_block_b64, epoch_ms}
//     a_hex of 128 bytes (what the helper draws) or any other size; returns A, u, K, TIMESTAMP and the
//     PASSWORD_CLAIM_SIGNATURE computed as CognitoUser does (HMAC-SHA256 over P + I + block + ts).
//   {kind: "device_verifier", random_hex, group_key, device_key}
//     random_hex = 40 password bytes then 16 salt bytes; returns what ConfirmDevice would send.
//   {kind: "timestamp", epoch_ms}  -> DateHelper.getNowString() at that instant.
'use strict';

const path = require('path');
const root = path.resolve(__dirname, '..', '..', 'node_modules');
const lib = path.join(root, 'amazon-cognito-identity-js', 'lib');
const AuthenticationHelper = require(path.join(lib, 'AuthenticationHelper.js')).default;
const BigInteger = require(path.join(lib, 'BigInteger.js')).default;
const DateHelper = require(path.join(lib, 'DateHelper.js')).default;
const { Sha256 } = require(path.join(root, '@aws-crypto', 'sha256-js'));

// --- injected randomness -------------------------------------------------------------------
let randomQueue = Buffer.alloc(0);
function feed(hex) {
  randomQueue = Buffer.concat([randomQueue, Buffer.from(hex, 'hex')]);
}
function fakeGetRandomValues(array) {
  const view = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  if (randomQueue.length < view.length) {
    throw new Error('injected randomness exhausted');
  }
  // The helper turns each 32-bit word into hex big-endian, so feed words big-endian.
  if (array instanceof Uint32Array) {
    for (let i = 0; i < array.length; i++) {
      array[i] = randomQueue.readUInt32BE(4 * i);
    }
  } else {
    randomQueue.copy(Buffer.from(view.buffer, view.byteOffset, view.length), 0, 0, view.length);
  }
  randomQueue = randomQueue.subarray(view.length);
  return array;
}
Object.defineProperty(globalThis.crypto, 'getRandomValues', {
  value: fakeGetRandomValues,
  configurable: true,
  writable: true,
});

// --- pinned clock -----------------------------------------------------------------------------
const RealDate = Date;
function withClock(epochMs, fn) {
  class FixedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(epochMs);
      else super(...args);
    }
  }
  globalThis.Date = FixedDate;
  try {
    return fn();
  } finally {
    globalThis.Date = RealDate;
  }
}

function call(fn) {
  // The helper reports through node-style callbacks (synchronously in this version).
  let out;
  let error;
  fn((err, value) => {
    error = err;
    out = value;
  });
  if (error) throw error;
  return out;
}

function runSrp(c) {
  const aLen = Buffer.from(c.a_hex, 'hex').length;
  // A 128-byte a goes in through the helper's own random source; other sizes (cheaper in bulk)
  // through its smallAValue field, forcing A to be recomputed from it.
  feed(aLen === 128 ? c.a_hex : '00'.repeat(128));
  const helper = new AuthenticationHelper(c.pool);
  if (randomQueue.length !== 0) throw new Error('helper drew fewer random bytes than expected');
  if (aLen !== 128) {
    helper.smallAValue = new BigInteger(c.a_hex, 16);
    helper.largeAValue = undefined;
  }
  const A = call(cb => helper.getLargeAValue(cb));
  const B = new BigInteger(c.B_hex, 16);
  const salt = new BigInteger(c.salt_hex, 16);
  const key = call(cb => helper.getPasswordAuthenticationKey(c.identity, c.secret, B, salt, cb));
  const timestamp = withClock(c.epoch_ms, () => new DateHelper().getNowString());
  // As CognitoUser.authenticateUserInternal / getDeviceResponse compute the claim.
  const message = Buffer.concat([
    Buffer.from(c.pool, 'utf8'),
    Buffer.from(c.identity, 'utf8'),
    Buffer.from(c.secret_block_b64, 'base64'),
    Buffer.from(timestamp, 'utf8'),
  ]);
  const hmac = new Sha256(key);
  hmac.update(message);
  const signature = Buffer.from(hmac.digestSync()).toString('base64');
  return {
    A_hex: A.toString(16),
    u_hex: helper.UValue.toString(16),
    K_hex: Buffer.from(key).toString('hex'),
    timestamp,
    signature,
  };
}

function runDeviceVerifier(c) {
  feed('00'.repeat(128)); // the constructor draws a small a first; it is not used here
  const helper = new AuthenticationHelper(c.group_key);
  feed(c.random_hex);
  call(cb => helper.generateHashDevice(c.group_key, c.device_key, cb));
  if (randomQueue.length !== 0) throw new Error('helper drew fewer random bytes than expected');
  return {
    password: helper.getRandomPassword(),
    salt_hex: helper.getSaltDevices(),
    verifier_hex: helper.getVerifierDevices(),
  };
}

function runTimestamp(c) {
  return { timestamp: withClock(c.epoch_ms, () => new DateHelper().getNowString()) };
}

const handlers = { srp: runSrp, device_verifier: runDeviceVerifier, timestamp: runTimestamp };

function main() {
  const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const results = cases.map(c => {
    randomQueue = Buffer.alloc(0);
    try {
      return handlers[c.kind](c);
    } catch (err) {
      return { error: String(err && err.message ? err.message : err) };
    }
  });
  process.stdout.write(JSON.stringify(results));
}

main();
