// Shared pieces of the real-client story drivers: a fetch recorder (which operations were sent
// and what came back), an in-memory Storage with the web-storage API, and RFC 6238 TOTP codes.
'use strict';

const crypto = require('crypto');

// Every request the SDK sends through fetch, as {op, challenge?, error?, status}.
function recordFetch(log) {
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init = {}) => {
    const headers = new Headers(init.headers || (input && input.headers) || {});
    const target = headers.get('x-amz-target') || '';
    const op = target.split('.').pop();
    let sent = {};
    try { sent = JSON.parse(init.body || '{}'); } catch (e) { sent = {}; }
    const resp = await realFetch(input, init);
    const copy = resp.clone();
    let body = {};
    try { body = await copy.json(); } catch (e) { body = {}; }
    const entry = { op, status: resp.status };
    if (sent.ChallengeName) entry.answered = sent.ChallengeName;
    const params = sent.AuthParameters || sent.ChallengeResponses || {};
    if ('DEVICE_KEY' in params || 'DeviceKey' in sent) {
      entry.sentDevice = params.DEVICE_KEY !== undefined ? params.DEVICE_KEY : sent.DeviceKey;
    }
    if (body.ChallengeName) entry.challenge = body.ChallengeName;
    if (body.__type) entry.error = body.__type;
    if (body.AuthenticationResult) {
      entry.tokens = true;
      entry.newDevice = Boolean(body.AuthenticationResult.NewDeviceMetadata);
    }
    if (resp.headers.get('x-devicesrp-server-proof')) entry.serverProof = true;
    log.push(entry);
    return resp;
  };
}

class MemoryStorage {
  constructor() { this.map = new Map(); }
  setItem(k, v) { this.map.set(k, String(v)); }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null; }
  removeItem(k) { this.map.delete(k); }
  clear() { this.map.clear(); }
  get length() { return this.map.size; }
  key(i) { return Array.from(this.map.keys())[i] ?? null; }
  // Amplify's KeyValueStorageInterface (async)
}

class AsyncStorage {
  constructor(inner) { this.inner = inner; }
  async setItem(k, v) { this.inner.setItem(k, v); }
  async getItem(k) { return this.inner.getItem(k); }
  async removeItem(k) { this.inner.removeItem(k); }
  async clear() { this.inner.clear(); }
}

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  }
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

// HOTP(K, step), 6 digits (RFC 4226 §5.3, RFC 6238 §4.2). The server takes steps now-1..now+1
// but each step once, so every code uses a later step than the last; when none is left, wait.
function totpCoder(secret, lastStep = 0) {
  let last = lastStep;
  return async () => {
    let step;
    for (;;) {
      const t = Date.now() / 1000;
      const now = Math.floor(t / 30);
      step = Math.max(last + 1, t % 30 < 25 ? now - 1 : now);
      if (step <= now + 1) break;
      await new Promise((r) => setTimeout(r, (30 - (t % 30) + 0.1) * 1000));
    }
    last = step;
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(step));
    const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
    const off = mac[mac.length - 1] & 0xf;
    const code = (mac.readUInt32BE(off) & 0x7fffffff) % 1000000;
    return String(code).padStart(6, '0');
  };
}

function readConfig() {
  return JSON.parse(process.argv[2]);
}

module.exports = { recordFetch, MemoryStorage, AsyncStorage, totpCoder, readConfig };
