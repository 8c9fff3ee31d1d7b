// The remembered-device story played by the unmodified Amplify JS v6 (aws-amplify 6.22.1) in
// Node against a devicesrp server. Input: one JSON argument {endpoint, poolId, clientId,
// username, password, totpSecret?, optIn}. Output: one JSON line, what the client saw per step.
'use strict';

// Node has no navigator: without one Amplify silently leaves device tracking off.
globalThis.navigator ??= { userAgent: 'node-test' };

const { recordFetch, MemoryStorage, AsyncStorage, totpCoder, readConfig } = require('./story_common.js');
const { Amplify } = require('aws-amplify');
const auth = require('aws-amplify/auth');
const { cognitoUserPoolsTokenProvider } = require('aws-amplify/auth/cognito');

const cfg = readConfig();
const wire = [];
recordFetch(wire);
const storage = new MemoryStorage();
Amplify.configure({ Auth: { Cognito: {
  userPoolId: cfg.poolId, userPoolClientId: cfg.clientId, userPoolEndpoint: cfg.endpoint,
} } });
cognitoUserPoolsTokenProvider.setKeyValueStorage(new AsyncStorage(storage));
const nextCode = cfg.totpSecret ? totpCoder(cfg.totpSecret, cfg.totpLastStep || 0) : null;
const prefix = `CognitoIdentityServiceProvider.${cfg.clientId}.${cfg.username}`;

async function attempt(fn) {
  try {
    return { ok: true, data: await fn() };
  } catch (e) {
    return { ok: false, error: e.name, message: e.message };
  }
}

async function signIn(password) {
  return attempt(async () => {
    let mfaPrompts = 0;
    let res = await auth.signIn({ username: cfg.username, password });
    while (!res.isSignedIn && res.nextStep.signInStep === 'CONFIRM_SIGN_IN_WITH_TOTP_CODE') {
      mfaPrompts += 1;
      res = await auth.confirmSignIn({ challengeResponse: await nextCode() });
    }
    return { isSignedIn: res.isSignedIn, step: res.nextStep.signInStep, mfaPrompts };
  });
}

async function main() {
  const out = { steps: [] };
  let mark = 0;
  const push = (name, extra) => { out.steps.push({ name, wire: wire.slice(mark), ...extra }); mark = wire.length; };
  push('wrong_password', { result: await signIn(cfg.password + 'x') });
  const first = await signIn(cfg.password);
  const firstKey = storage.getItem(`${prefix}.deviceKey`);
  push('first_sign_in', { result: first, deviceKey: firstKey });
  if (cfg.optIn) push('remember', { result: await attempt(() => auth.rememberDevice()) });
  push('sign_out', { result: await attempt(() => auth.signOut()) });
  const second = await signIn(cfg.password);
  const session = await attempt(() => auth.fetchAuthSession());
  const claims = session.ok && session.data.tokens ? session.data.tokens.accessToken.payload : {};
  push('device_sign_in', { result: second, accessDeviceKey: claims.device_key || null });
  const devices = await attempt(() => auth.fetchDevices());
  push('list_devices', { result: devices });
  const refreshed = await attempt(() => auth.fetchAuthSession({ forceRefresh: true }));
  push('refresh', { result: { ok: refreshed.ok, error: refreshed.error,
    tokens: Boolean(refreshed.ok && refreshed.data.tokens) } });
  push('sign_out_2', { result: await attempt(() => auth.signOut()) });
  const goodPassword = storage.getItem(`${prefix}.randomPasswordKey`);
  storage.setItem(`${prefix}.randomPasswordKey`, 'A'.repeat(goodPassword.length));
  push('wrong_device_secret', { result: await signIn(cfg.password) });
  storage.setItem(`${prefix}.randomPasswordKey`, goodPassword);
  const saved = ['deviceKey', 'deviceGroupKey', 'randomPasswordKey']
    .map((k) => [k, storage.getItem(`${prefix}.${k}`)]);
  const again = await signIn(cfg.password);
  const forgot = await attempt(() => auth.forgetDevice());
  await attempt(() => auth.signOut());
  push('forget', { result: { forgot, signIn: again.ok } });
  for (const [k, v] of saved) storage.setItem(`${prefix}.${k}`, v);
  const stale = await signIn(cfg.password);
  push('stale_device', { result: stale, newDeviceKey: storage.getItem(`${prefix}.deviceKey`),
    oldDeviceKey: firstKey });
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stdout.write(JSON.stringify({ crash: String(e && e.stack || e) }) + '\n'); process.exit(1); });
