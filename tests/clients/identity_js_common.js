// What every amazon-cognito-identity-js driver starts from: the pinned library, the JSON config
// (process.argv[2]), the recorded wire, an in-memory Storage, the user pool over that storage,
// and the storage key prefix the SDK uses for the configured user.
'use strict';

const path = require('path');
const { recordFetch, MemoryStorage, readConfig } = require('./story_common.js');

const lib = require(path.resolve(__dirname, '..', '..', 'node_modules', 'amazon-cognito-identity-js'));

function identityJsSetup() {
  const cfg = readConfig();
  const wire = [];
  recordFetch(wire);
  const storage = new MemoryStorage();
  const pool = new lib.CognitoUserPool({
    UserPoolId: cfg.poolId, ClientId: cfg.clientId, endpoint: `${cfg.endpoint}/`, Storage: storage,
  });
  const prefix = `CognitoIdentityServiceProvider.${cfg.clientId}.${cfg.username}`;
  return { lib, cfg, wire, storage, pool, prefix };
}

module.exports = { identityJsSetup };
