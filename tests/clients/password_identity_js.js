// USER_PASSWORD_AUTH played by the unmodified amazon-cognito-identity-js 6.3.21
// (authenticationFlowType 'USER_PASSWORD_AUTH') against a devicesrp server: a wrong password, a
// first sign-in (the SDK confirms the new device itself), then a sign-in with the stored device
// (DEVICE_SRP_AUTH after the password). Input: one JSON argument {endpoint, poolId, clientId,
// username, password}. Output: one JSON line describing what the client saw at each step.
'use strict';

const { identityJsSetup } = require('./identity_js_common.js');

const { lib, cfg, wire, storage, pool, prefix } = identityJsSetup();
const { CognitoUser, AuthenticationDetails } = lib;

function signIn(password) {
  const user = new CognitoUser({ Username: cfg.username, Pool: pool, Storage: storage });
  user.setAuthenticationFlowType('USER_PASSWORD_AUTH');
  const details = new AuthenticationDetails({ Username: cfg.username, Password: password });
  return new Promise((resolve) => {
    user.authenticateUser(details, {
      onSuccess: (session, userConfirmationNecessary) => resolve({
        ok: true,
        userConfirmationNecessary,
        accessDeviceKey: session.getAccessToken().decodePayload().device_key || null,
      }),
      onFailure: (err) => resolve({ ok: false, error: err.code || err.name }),
      mfaRequired: () => resolve({ ok: false, error: 'SMS_MFA asked' }),
      totpRequired: () => resolve({ ok: false, error: 'SOFTWARE_TOKEN_MFA asked' }),
    });
  });
}

async function main() {
  const out = { steps: [] };
  let mark = wire.length;
  const step = (name, result, extra = {}) => {
    out.steps.push({ name, wire: wire.slice(mark), result, ...extra });
    mark = wire.length;
  };
  step('wrong_password', await signIn(cfg.password + 'x'));
  step('first_sign_in', await signIn(cfg.password), { deviceKey: storage.getItem(`${prefix}.deviceKey`) });
  step('device_sign_in', await signIn(cfg.password));
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stdout.write(JSON.stringify({ crash: String(e && e.stack || e) }) + '\n'); process.exit(1); });
