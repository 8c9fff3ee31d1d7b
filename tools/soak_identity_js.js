// Soak: remembered-device sign-ins by the unmodified amazon-cognito-identity-js against a running
// devicesrp serve (loopback only). Input: one JSON argument
//   {endpoint, poolId, clientId, users: [names], password, count}
// Each user gets its own storage: a first sign-in (the SDK confirms the new device itself), then
// the users take turns until `count` device sign-ins are done, one chain per user in parallel.
// A device sign-in counts as good only if the SDK reports success AND the wire shows the
// DEVICE_PASSWORD_VERIFIER answered AND the access token names the stored device.
// Output: one JSON line {good, failures, errors, firstSignIns, seconds}.
'use strict';

const path = require('path');

const lib = require(path.resolve(__dirname, '..', 'node_modules', 'amazon-cognito-identity-js'));
const { CognitoUserPool, CognitoUser, AuthenticationDetails } = lib;

const cfg = JSON.parse(process.argv[2]);

// The device steps seen on the wire, per request body (the SDK uses global fetch).
const realFetch = globalThis.fetch;
let deviceAnswers = 0;
const transportErrors = {};
globalThis.fetch = async (input, init = {}) => {
  try {
    const sent = JSON.parse(init.body || '{}');
    if (sent.ChallengeName === 'DEVICE_PASSWORD_VERIFIER') deviceAnswers += 1;
  } catch (e) { /* not JSON: not ours to count */ }
  try {
    return await realFetch(input, init);
  } catch (e) {
    // the SDK reports these as a bare NetworkError: keep the cause for the report
    const why = String((e.cause && `${e.cause.code}: ${e.cause.message}`) || e.message);
    transportErrors[why] = (transportErrors[why] || 0) + 1;
    throw e;
  }
};

class MemoryStorage {
  constructor() { this.map = new Map(); }
  setItem(k, v) { this.map.set(k, String(v)); }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null; }
  removeItem(k) { this.map.delete(k); }
  clear() { this.map.clear(); }
}

function signIn(pool, storage, username) {
  const user = new CognitoUser({ Username: username, Pool: pool, Storage: storage });
  const details = new AuthenticationDetails({ Username: username, Password: cfg.password });
  return new Promise((resolve) => {
    user.authenticateUser(details, {
      onSuccess: (session) => resolve({ ok: true, session }),
      onFailure: (err) => resolve({ ok: false, error: err.code || err.name || String(err) }),
      mfaRequired: () => resolve({ ok: false, error: 'SMS_MFA asked' }),
      totpRequired: () => resolve({ ok: false, error: 'TOTP asked' }),
    });
  });
}

async function chain(username, quota, tally) {
  const storage = new MemoryStorage();
  const pool = new CognitoUserPool({
    UserPoolId: cfg.poolId, ClientId: cfg.clientId, endpoint: `${cfg.endpoint}/`, Storage: storage,
  });
  const first = await signIn(pool, storage, username);
  const prefix = `CognitoIdentityServiceProvider.${cfg.clientId}.${username}`;
  const deviceKey = storage.getItem(`${prefix}.deviceKey`);
  if (!first.ok || !deviceKey) {
    tally.failures += quota;
    tally.errors[`first sign-in: ${first.error || 'no device key'}`] = quota;
    return;
  }
  tally.firstSignIns += 1;
  for (let i = 0; i < quota; i += 1) {
    const before = deviceAnswers;
    const result = await signIn(pool, storage, username);
    const claim = result.ok ? result.session.getAccessToken().decodePayload().device_key : null;
    if (result.ok && deviceAnswers > before && claim === deviceKey) {
      tally.good += 1;
    } else {
      tally.failures += 1;
      const why = result.ok ? `device step missing (claim ${claim})` : result.error;
      tally.errors[why] = (tally.errors[why] || 0) + 1;
    }
  }
}

async function main() {
  const started = Date.now();
  const tally = { good: 0, failures: 0, errors: {}, firstSignIns: 0 };
  const n = cfg.users.length;
  await Promise.all(cfg.users.map((u, i) =>
    chain(u, Math.floor(cfg.count / n) + (i < cfg.count % n ? 1 : 0), tally)));
  tally.seconds = (Date.now() - started) / 1000;
  tally.transportErrors = transportErrors;
  process.stdout.write(JSON.stringify(tally) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ crash: String((e && e.stack) || e) }) + '\n');
  process.exit(1);
});
