// make_jwt_vectors.mjs — generates jwt_vectors.json, the Hasura-JWT test vectors
// for the C++ verifier. Tokens are minted with the npm package `jose` (plus
// node:crypto for the deliberately broken ones), i.e. NOT by our own code.
//
// Run (jose is resolved from the CURRENT DIRECTORY, so no node_modules is
// needed in the repo):
//
//   mkdir -p /tmp/jwtgen && cd /tmp/jwtgen && npm init -y && npm install jose
//   node /work/main/tests/unit/auth/testdata/make_jwt_vectors.mjs \
//       > /work/main/tests/unit/auth/testdata/jwt_vectors.json
//
// Self-check an existing file (verifies every vector with jose's jwtVerify and
// an independent claims extractor, and compares with the stated expectation):
//
//   cd /tmp/jwtgen && node /work/main/tests/unit/auth/testdata/make_jwt_vectors.mjs \
//       --check /work/main/tests/unit/auth/testdata/jwt_vectors.json
//
// Output is deterministic except for (a) the freshly generated keys / HMAC
// secret (embedded in the output) and (b) ES256 signatures, which are
// randomized by ECDSA itself. All keys are TEST-ONLY.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// ---------------------------------------------------------------- load jose
const requireFromCwd = createRequire(path.join(process.cwd(), '__resolve__.js'));
let joseEntry;
try {
  joseEntry = requireFromCwd.resolve('jose');
} catch {
  console.error('cannot find "jose" from ' + process.cwd() + ' — run `npm install jose` there first');
  process.exit(2);
}
const jose = await import(pathToFileURL(joseEntry).href);
function joseVersion() {
  let dir = path.dirname(joseEntry);
  while (dir !== path.dirname(dir)) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8'));
      if (pkg.name === 'jose') return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}

// ---------------------------------------------------------------- constants
const NOW = 1764262800; // 2025-11-27T17:00:00Z — the C++ test's "now"
const DEFAULT_NS = 'https://hasura.io/jwt/claims';
const CUSTOM_NS = 'https://example.com/claims';
const AUD = 'chat-app';
const ISS = 'https://auth.example';
const SKEW = 120;

const b64u = (x) => Buffer.from(x).toString('base64url');
const b64uJson = (o) => b64u(JSON.stringify(o));

function hasuraClaims(userId = 'alice', extra = {}) {
  const c = {
    'x-hasura-default-role': 'user',
    'x-hasura-allowed-roles': ['user', 'admin'],
  };
  if (userId !== null) c['x-hasura-user-id'] = userId;
  return { ...c, ...extra };
}
const timesValid = () => ({ iat: NOW - 60, exp: NOW + 3600 });

// ================================================================ generate
async function generate() {
  // ---- keys (the only random inputs besides ECDSA nonces)
  const hsSecret = crypto.randomBytes(36).toString('base64url'); // 48 ASCII chars; HMAC key = these UTF-8 bytes
  const hsKey = new TextEncoder().encode(hsSecret);
  const otherHsKey = new TextEncoder().encode(crypto.randomBytes(36).toString('base64url'));

  const rsa = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const rsaOther = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const ec = await jose.generateKeyPair('ES256', { crv: 'P-256', extractable: true });
  const ecOther = await jose.generateKeyPair('ES256', { crv: 'P-256', extractable: true });

  const rsaPubPem = await jose.exportSPKI(rsa.publicKey);
  const ecPubPem = await jose.exportSPKI(ec.publicKey);
  const rsaPrivPem = await jose.exportPKCS8(rsa.privateKey);
  const ecPrivPem = await jose.exportPKCS8(ec.privateKey);

  const cfg = {
    hs256: { type: 'HS256', key: hsSecret },
    hs256_aud_iss: { type: 'HS256', key: hsSecret, audience: AUD, issuer: ISS },
    rs256: { type: 'RS256', key: rsaPubPem },
    es256: { type: 'ES256', key: ecPubPem },
    hs256_stringified: { type: 'HS256', key: hsSecret, claims_format: 'stringified_json' },
    hs256_custom_ns: { type: 'HS256', key: hsSecret, claims_namespace: CUSTOM_NS },
    hs256_ns_path: { type: 'HS256', key: hsSecret, claims_namespace_path: '$.app.hasura' },
    hs256_skew: { type: 'HS256', key: hsSecret, allowed_skew: SKEW },
  };

  // ---- minting helpers
  async function mint(alg, key, payload, header = {}) {
    return new jose.SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', ...header }).sign(key);
  }
  const hs = (payload) => mint('HS256', hsKey, payload);
  const stdPayload = (userId = 'alice', extra = {}) => ({ ...timesValid(), [DEFAULT_NS]: hasuraClaims(userId), ...extra });

  // hand-built compact JWS with node:crypto
  function handSignRaw(header, payloadText, signer) {
    const input = b64uJson(header) + '.' + b64u(payloadText);
    return input + '.' + (signer ? b64u(signer(Buffer.from(input, 'ascii'))) : '');
  }
  const handSign = (header, payload, signer) => handSignRaw(header, JSON.stringify(payload), signer);
  const hmac256 = (key) => (d) => crypto.createHmac('sha256', key).update(d).digest();

  const V = [];
  const ok = (name, config, token, { role_header = null, user_id = 'alice', role = 'user', allowed_roles = ['user', 'admin'] } = {}) =>
    V.push({ name, config, token, role_header, expect: 'ok', user_id, role, allowed_roles });
  const bad = (name, config, token, expect, role_header = null) =>
    V.push({ name, config, token, role_header, expect });

  // ---- valid tokens per algorithm
  const hsValid = await hs(stdPayload());
  ok('hs256_valid', 'hs256', hsValid);
  const rsValid = await mint('RS256', rsa.privateKey, stdPayload());
  ok('rs256_valid', 'rs256', rsValid);
  const esValid = await mint('ES256', ec.privateKey, stdPayload());
  ok('es256_valid', 'es256', esValid);

  // ---- HS256: roles / user id
  ok('hs256_role_header_allowed', 'hs256', hsValid, { role_header: 'admin', role: 'admin' });
  ok('hs256_role_header_not_allowed_falls_back_to_default', 'hs256', hsValid, { role_header: 'superuser', role: 'user' });
  ok('hs256_user_id_from_sub', 'hs256', await hs({ ...timesValid(), sub: 'bob', [DEFAULT_NS]: hasuraClaims(null) }), { user_id: 'bob' });
  ok('hs256_hasura_user_id_wins_over_sub', 'hs256', await hs(stdPayload('alice', { sub: 'not-alice' })), { user_id: 'alice' });
  bad('hs256_missing_user_id', 'hs256', await hs({ ...timesValid(), [DEFAULT_NS]: hasuraClaims(null) }), 'missing_user_id');

  // ---- HS256: time claims
  bad('hs256_expired', 'hs256', await hs({ ...stdPayload(), iat: NOW - 7200, exp: NOW - 3600 }), 'expired');
  ok('hs256_expired_30s_within_skew_120', 'hs256_skew', await hs({ ...stdPayload(), iat: NOW - 3630, exp: NOW - 30 }));
  bad('hs256_nbf_in_future', 'hs256', await hs({ ...stdPayload(), nbf: NOW + 3600 }), 'not_yet_valid');
  bad('hs256_iat_in_future', 'hs256', await hs({ ...stdPayload(), iat: NOW + 3600, exp: NOW + 7200 }), 'not_yet_valid');

  // ---- HS256: signature problems
  {
    const [h, p, s] = hsValid.split('.');
    // flip the FIRST signature char: guaranteed to change decoded bytes (the last
    // char of a 43-char HS256 signature carries 2 padding bits, so altering it
    // could leave the decoded bytes unchanged)
    const flipped = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    bad('hs256_signature_char_altered', 'hs256', `${h}.${p}.${flipped}`, 'bad_signature');
    bad('hs256_signed_with_other_secret', 'hs256', await mint('HS256', otherHsKey, stdPayload()), 'bad_signature');
    const tampered = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    tampered[DEFAULT_NS]['x-hasura-user-id'] = 'mallory';
    tampered[DEFAULT_NS]['x-hasura-default-role'] = 'admin';
    bad('hs256_payload_tampered', 'hs256', `${h}.${b64uJson(tampered)}.${s}`, 'bad_signature');
  }
  bad('alg_none_unsigned', 'hs256', handSign({ alg: 'none', typ: 'JWT' }, stdPayload()), 'wrong_algorithm');
  bad('hs512_with_same_secret', 'hs256', await mint('HS512', hsKey, stdPayload()), 'wrong_algorithm');

  // ---- malformed inputs
  {
    const [, p, s] = hsValid.split('.');
    bad('malformed_one_part', 'hs256', 'abc', 'malformed');
    bad('malformed_two_parts', 'hs256', 'a.b', 'malformed');
    bad('malformed_four_parts', 'hs256', 'a.b.c.d', 'malformed');
    bad('malformed_three_garbage_parts', 'hs256', 'a.b.c', 'malformed');
    bad('malformed_header_not_base64url', 'hs256', `%%%not*base64%%%.${p}.${s}`, 'malformed');
    bad('malformed_header_base64url_but_not_json', 'hs256', `${b64u('this is not json')}.${p}.${s}`, 'malformed');
    // correctly HMAC-signed, so the only defect is the payload itself
    bad('malformed_payload_not_json', 'hs256', handSignRaw({ alg: 'HS256', typ: 'JWT' }, '{not json', hmac256(hsKey)), 'malformed');
    bad('empty_string_is_missing_token', 'hs256', '', 'missing_token');
  }

  // ---- audience / issuer
  const ai = (extra) => hs({ ...stdPayload(), ...extra });
  ok('hs256_aud_iss_correct', 'hs256_aud_iss', await ai({ aud: AUD, iss: ISS }));
  ok('hs256_aud_array_contains', 'hs256_aud_iss', await ai({ aud: ['other-app', AUD], iss: ISS }));
  bad('hs256_aud_wrong', 'hs256_aud_iss', await ai({ aud: 'other-app', iss: ISS }), 'wrong_audience');
  bad('hs256_aud_missing', 'hs256_aud_iss', await ai({ iss: ISS }), 'wrong_audience');
  bad('hs256_iss_wrong', 'hs256_aud_iss', await ai({ aud: AUD, iss: 'https://evil.example' }), 'wrong_issuer');

  // ---- claim placement variants
  ok('hs256_stringified_claims', 'hs256_stringified', await hs({ ...timesValid(), [DEFAULT_NS]: JSON.stringify(hasuraClaims()) }));
  ok('hs256_custom_namespace', 'hs256_custom_ns', await hs({ ...timesValid(), [CUSTOM_NS]: hasuraClaims() }));
  ok('hs256_namespace_path', 'hs256_ns_path', await hs({ ...timesValid(), app: { hasura: hasuraClaims() } }));

  // ---- RS256
  {
    // HS/RS key confusion: HMAC key = exact bytes of the PEM string in config rs256
    const pemBytes = Buffer.from(cfg.rs256.key, 'utf8');
    bad('rs256_config_hs256_token_keyed_with_public_pem', 'rs256',
      handSign({ alg: 'HS256', typ: 'JWT' }, stdPayload(), hmac256(pemBytes)),
      'wrong_algorithm');
    bad('rs256_signed_by_other_key', 'rs256', await mint('RS256', rsaOther.privateKey, stdPayload()), 'bad_signature');
    bad('rs256_expired', 'rs256', await mint('RS256', rsa.privateKey, { ...stdPayload(), iat: NOW - 7200, exp: NOW - 3600 }), 'expired');
  }

  // ---- ES256
  {
    bad('es256_signed_by_other_key', 'es256', await mint('ES256', ecOther.privateKey, stdPayload()), 'bad_signature');
    const ecPrivNode = crypto.createPrivateKey(ecPrivPem);
    bad('es256_der_encoded_signature', 'es256',
      handSign({ alg: 'ES256', typ: 'JWT' }, stdPayload(),
        (d) => crypto.sign('sha256', d, { key: ecPrivNode, dsaEncoding: 'der' })),
      'bad_signature');
  }

  const configs = Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k, JSON.stringify(v)]));
  return {
    generator: `jose ${joseVersion()}, node ${process.version}`,
    now: NOW,
    configs,
    private_keys: { rs256: rsaPrivPem, es256: ecPrivPem },
    vectors: V,
  };
}

// ================================================================ check
// Independent re-verification with jose.jwtVerify + a small Hasura claims
// extractor. Returns the observed outcome in the same vocabulary as "expect".
function extractHasura(payload, cfg) {
  let claims;
  if (cfg.claims_namespace_path !== undefined) {
    const m = /^\$((?:\.[A-Za-z0-9_-]+)*)$/.exec(cfg.claims_namespace_path);
    if (!m) throw new Error('unsupported path ' + cfg.claims_namespace_path);
    claims = payload;
    for (const seg of m[1].split('.').slice(1)) claims = claims == null ? undefined : claims[seg];
  } else {
    claims = payload[cfg.claims_namespace ?? DEFAULT_NS];
  }
  if (cfg.claims_format === 'stringified_json' && typeof claims === 'string') claims = JSON.parse(claims);
  return claims;
}

async function observe(vec, cfgJson) {
  const cfg = JSON.parse(cfgJson);
  let key;
  if (cfg.type.startsWith('HS')) key = new TextEncoder().encode(cfg.key);
  else key = await jose.importSPKI(cfg.key, cfg.type);
  let payload;
  try {
    ({ payload } = await jose.jwtVerify(vec.token, key, {
      algorithms: [cfg.type],
      currentDate: new Date(NOW * 1000),
      clockTolerance: cfg.allowed_skew ?? 0,
      maxTokenAge: 10 * 365 * 86400, // only to make jose reject an "iat" in the future
      ...(cfg.audience !== undefined ? { audience: cfg.audience } : {}),
      ...(cfg.issuer !== undefined ? { issuer: cfg.issuer } : {}),
    }));
  } catch (e) {
    switch (e.code) {
      case 'ERR_JOSE_ALG_NOT_ALLOWED': return { outcome: 'wrong_algorithm', detail: e.message };
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return { outcome: 'bad_signature', detail: e.message };
      case 'ERR_JWT_EXPIRED': return { outcome: 'expired', detail: e.message };
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
        const m = { nbf: 'not_yet_valid', iat: 'not_yet_valid', aud: 'wrong_audience', iss: 'wrong_issuer' }[e.claim];
        return { outcome: m ?? 'claim:' + e.claim, detail: e.message };
      }
      case 'ERR_JWS_INVALID': case 'ERR_JWT_INVALID': return { outcome: 'malformed', detail: e.message };
      default: return { outcome: 'error:' + (e.code ?? e.name), detail: e.message };
    }
  }
  const claims = extractHasura(payload, cfg);
  const userId = claims?.['x-hasura-user-id'] ?? payload.sub;
  if (typeof userId !== 'string' || userId === '') return { outcome: 'missing_user_id' };
  const allowed = claims['x-hasura-allowed-roles'];
  const role = vec.role_header !== null && allowed.includes(vec.role_header) ? vec.role_header : claims['x-hasura-default-role'];
  return { outcome: 'ok', user_id: userId, role, allowed_roles: allowed };
}

async function check(file) {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (doc.now !== NOW) throw new Error('now mismatch');
  let failures = 0;
  const counts = {};
  for (const v of doc.vectors) {
    counts[v.expect] = (counts[v.expect] ?? 0) + 1;
    if (!(v.config in doc.configs)) { console.log(`FAIL ${v.name}: unknown config ${v.config}`); failures++; continue; }
    const o = await observe(v, doc.configs[v.config]);
    let good = o.outcome === v.expect;
    if (good && v.expect === 'ok')
      good = o.user_id === v.user_id && o.role === v.role && JSON.stringify(o.allowed_roles) === JSON.stringify(v.allowed_roles);
    console.log(`${good ? 'ok  ' : 'FAIL'} ${v.name.padEnd(52)} expect=${v.expect.padEnd(15)} jose=${o.outcome}${o.detail ? '  (' + o.detail + ')' : ''}`);
    if (!good) failures++;
  }
  console.log('\ncounts:', JSON.stringify(counts), ' total:', doc.vectors.length);
  console.log(failures ? `${failures} FAILURE(S)` : 'all vectors behave as stated');
  process.exit(failures ? 1 : 0);
}

// ================================================================ main
if (process.argv[2] === '--check') {
  await check(process.argv[3]);
} else {
  process.stdout.write(JSON.stringify(await generate(), null, 2) + '\n');
}
