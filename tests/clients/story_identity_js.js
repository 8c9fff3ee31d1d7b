// The remembered-device story played by the unmodified amazon-cognito-identity-js 6.3.21
// against a devicesrp server. Input: one JSON argument {endpoint, poolId, clientId, username,
// password, totpSecret?}. Output: one JSON line describing what the client saw at each step.
'use strict';

const { totpCoder } = require('./story_common.js');
const { identityJsSetup } = require('./identity_js_common.js');

const { lib, cfg, wire, storage, pool, prefix } = identityJsSetup();
const { CognitoUser, AuthenticationDetails } = lib;
const nextCode = cfg.totpSecret ? totpCoder(cfg.totpSecret, cfg.totpLastStep || 0) : null;

function newUser() {
  return new CognitoUser({ Username: cfg.username, Pool: pool, Storage: storage });
}

// One sign-in; resolves {ok, error?, mfaPrompts, userConfirmationNecessary?}.
function signIn(user, password) {
  const details = new AuthenticationDetails({ Username: cfg.username, Password: password });
  return new Promise((resolve) => {
    let mfaPrompts = 0;
    const callbacks = {
      onSuccess: (session, userConfirmationNecessary) =>
        resolve({ ok: true, mfaPrompts, userConfirmationNecessary, session }),
      onFailure: (err) => resolve({ ok: false, error: err.code || err.name, mfaPrompts }),
      totpRequired: () => {
        mfaPrompts += 1;
        nextCode().then((code) => user.sendMFACode(code, callbacks, 'SOFTWARE_TOKEN_MFA'));
      },
      mfaRequired: () => resolve({ ok: false, error: 'SMS_MFA asked', mfaPrompts }),
    };
    user.authenticateUser(details, callbacks);
  });
}

const call = (fn) => new Promise((resolve) => fn((err, data) =>
  resolve(err ? { ok: false, error: err.code || err.name, message: err.message } : { ok: true, data })));

function stage(name, mark) {
  return { name, wire: wire.slice(mark) };
}

async function main() {
  const out = { steps: [] };
  let mark = wire.length;
  // 1. wrong password
  const wrong = await signIn(newUser(), cfg.password + 'x');
  out.steps.push({ ...stage('wrong_password', mark), result: wrong }); mark = wire.length;
  // 2. first sign-in: SRP + MFA if asked; the SDK confirms the new device itself
  let user = newUser();
  const first = await signIn(user, cfg.password);
  const firstKey = storage.getItem(`${prefix}.deviceKey`);
  const step2 = { ...stage('first_sign_in', mark), result: { ...first, session: undefined },
    deviceKey: firstKey, hasGroupKey: Boolean(storage.getItem(`${prefix}.deviceGroupKey`)) };
  out.steps.push(step2); mark = wire.length;
  if (first.ok && first.userConfirmationNecessary) {
    const rem = await call((cb) => user.setDeviceStatusRemembered({
      onSuccess: (r) => cb(null, r), onFailure: (e) => cb(e) }));
    out.steps.push({ ...stage('remember', mark), result: rem }); mark = wire.length;
  }
  // 3. sign in again with the same storage: device SRP
  user = newUser();
  const second = await signIn(user, cfg.password);
  const accessPayload = second.ok ? second.session.getAccessToken().decodePayload() : {};
  out.steps.push({ ...stage('device_sign_in', mark), result: { ...second, session: undefined },
    accessDeviceKey: accessPayload.device_key || null }); mark = wire.length;
  // 4. devices listed with metadata; one device fetched
  const listed = await call((cb) => user.listDevices(60, null, {
    onSuccess: (r) => cb(null, r), onFailure: (e) => cb(e) }));
  out.steps.push({ ...stage('list_devices', mark), result: listed }); mark = wire.length;
  const got = await call((cb) => user.getDevice({ onSuccess: (r) => cb(null, r), onFailure: (e) => cb(e) }));
  out.steps.push({ ...stage('get_device', mark), result: got }); mark = wire.length;
  // 5. refresh with the device key
  const refreshed = await call((cb) => user.refreshSession(second.session.getRefreshToken(), cb));
  out.steps.push({ ...stage('refresh', mark), result: { ok: refreshed.ok, error: refreshed.error } });
  mark = wire.length;
  // 6. wrong device secret: the stored device password is altered
  const goodPassword = storage.getItem(`${prefix}.randomPasswordKey`);
  storage.setItem(`${prefix}.randomPasswordKey`, 'A'.repeat(goodPassword.length));
  const badDevice = await signIn(newUser(), cfg.password);
  out.steps.push({ ...stage('wrong_device_secret', mark), result: badDevice }); mark = wire.length;
  storage.setItem(`${prefix}.randomPasswordKey`, goodPassword);
  // 7. forget the device, keep its stale key in storage, and sign in: the client's retry path
  const saved = ['deviceKey', 'deviceGroupKey', 'randomPasswordKey']
    .map((k) => [k, storage.getItem(`${prefix}.${k}`)]);
  user = newUser();
  const again = await signIn(user, cfg.password);
  const forgot = await call((cb) => user.forgetDevice({ onSuccess: (r) => cb(null, r), onFailure: (e) => cb(e) }));
  out.steps.push({ ...stage('forget', mark), result: { forgot, signIn: again.ok } }); mark = wire.length;
  for (const [k, v] of saved) storage.setItem(`${prefix}.${k}`, v);
  const stale = await signIn(newUser(), cfg.password);
  out.steps.push({ ...stage('stale_device', mark), result: { ...stale, session: undefined },
    newDeviceKey: storage.getItem(`${prefix}.deviceKey`), oldDeviceKey: firstKey });
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stdout.write(JSON.stringify({ crash: String(e && e.stack || e) }) + '\n'); process.exit(1); });
