// Cross-client parity for devicesrp's Python client SDK (tests/test_client_parity.py): one
// sign-in by the unmodified amazon-cognito-identity-js 6.3.21, optionally starting from a device
// given as the three values official SDKs keep, and reporting the three values it holds after.
//
// Input: one JSON argument {endpoint, poolId, clientId, username, password,
//   device?: {deviceKey, deviceGroupKey, randomPassword}}.
// Output: one JSON line {ok, error?, userConfirmationNecessary?, wire, accessDeviceKey,
//   device: {deviceKey, deviceGroupKey, randomPassword}}.
'use strict';

const { identityJsSetup } = require('./identity_js_common.js');

const { lib, cfg, wire, storage, pool, prefix } = identityJsSetup();
const { CognitoUser, AuthenticationDetails } = lib;
const NAMES = { deviceKey: 'deviceKey', deviceGroupKey: 'deviceGroupKey', randomPassword: 'randomPasswordKey' };
if (cfg.device) {
  for (const [field, key] of Object.entries(NAMES)) storage.setItem(`${prefix}.${key}`, cfg.device[field]);
}
const user = new CognitoUser({ Username: cfg.username, Pool: pool, Storage: storage });

function signIn() {
  const details = new AuthenticationDetails({ Username: cfg.username, Password: cfg.password });
  return new Promise((resolve) => {
    user.authenticateUser(details, {
      onSuccess: (session, userConfirmationNecessary) => resolve({ ok: true, session, userConfirmationNecessary }),
      onFailure: (err) => resolve({ ok: false, error: err.code || err.name }),
      totpRequired: () => resolve({ ok: false, error: 'SOFTWARE_TOKEN_MFA asked' }),
      mfaRequired: () => resolve({ ok: false, error: 'SMS_MFA asked' }),
    });
  });
}

async function main() {
  const result = await signIn();
  const out = { ok: result.ok, error: result.error, wire };
  if (result.ok) {
    out.userConfirmationNecessary = Boolean(result.userConfirmationNecessary);
    out.accessDeviceKey = result.session.getAccessToken().decodePayload().device_key || null;
    if (result.userConfirmationNecessary) {
      out.remembered = await new Promise((resolve) => user.setDeviceStatusRemembered({
        onSuccess: () => resolve(true), onFailure: () => resolve(false) }));
    }
  }
  out.device = {};
  for (const [field, key] of Object.entries(NAMES)) out.device[field] = storage.getItem(`${prefix}.${key}`);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stdout.write(JSON.stringify({ crash: String(e && e.stack || e) }) + '\n'); process.exit(1); });
