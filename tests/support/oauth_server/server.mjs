#!/usr/bin/env node
// Real OAuth 2.1 authorization server (panva/oidc-provider) + a tiny protected resource
// (RFC 9728), for offline, loopback-only tests of mcpctl as a resource server and as a client.
// Adapted from the realparts recipe: npm packages come from tests/node/node_modules, and the
// client-credentials grant is on so tests can mint real JWTs without a browser.
//
//   node tests/support/oauth_server/server.mjs [--ready-file FILE]
//
// Env (all optional):
//   AS_PORT, RS_PORT    ports of the authorization server and the resource (default 0 = random)
//   HOST                bind/advertise address (default 127.0.0.1; loopback only)
//   ACCESS_TOKEN_TTL    seconds (default 3600); a client may register `access_token_ttl` of its own
//   RS_SCOPES           scopes resources grant (default "mcp:tools")
//   LENIENT_RESOURCE=1  treat a missing `resource` parameter as the built-in resource
//   STRICT_RESOURCE=1   accept only the built-in resource (default: also any loopback http URL,
//                       so a gateway on a random port can be the audience)
//   NODE_MODULES        where oidc-provider and jose live (default: tests/node/node_modules)
//
// Clients may register (RFC 7591) the extra metadata `groups`, `roles` (string arrays, copied
// into their access tokens as claims of the same names) and `access_token_ttl` (seconds).
//
// When both listeners are up it prints ONE line to stdout:
//   READY {"issuer":"http://127.0.0.1:PORT","resource":"http://127.0.0.1:PORT2/mcp",...}
// and, with --ready-file, writes the same JSON to that file (atomically).
// SIGTERM/SIGINT stop it cleanly. All state is in memory (fresh per start).

import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const MODULES = process.env.NODE_MODULES
  ? pathToFileURL(`${process.env.NODE_MODULES.replace(/\/$/, '')}/`)
  : new URL('../../node/node_modules/', import.meta.url);
// ESM ignores NODE_PATH: resolve the packages from the test parts' node_modules explicitly.
const requireFromModules = createRequire(MODULES);
const { default: Provider, errors } = requireFromModules('oidc-provider');
const jose = requireFromModules('jose');

const HOST = process.env.HOST || '127.0.0.1';
if (!['127.0.0.1', 'localhost', '::1'].includes(HOST)) {
  console.error(`refusing non-loopback HOST=${HOST}`);
  process.exit(2);
}
const ACCESS_TOKEN_TTL = Number(process.env.ACCESS_TOKEN_TTL || 3600);
const RS_SCOPES = process.env.RS_SCOPES || 'mcp:tools';
const LENIENT_RESOURCE = process.env.LENIENT_RESOURCE === '1';
const STRICT_RESOURCE = process.env.STRICT_RESOURCE === '1';
const readyIdx = process.argv.indexOf('--ready-file');
const READY_FILE = readyIdx > 0 ? process.argv[readyIdx + 1] : undefined;

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => resolve(server.address().port));
  });
}
const hostForUrl = HOST.includes(':') ? `[${HOST}]` : HOST;

// --- 1. bind both sockets first, so the issuer/resource URLs carry real ports
const asServer = http.createServer();
const rsServer = http.createServer();
const asPort = await listen(asServer, Number(process.env.AS_PORT || 0));
const rsPort = await listen(rsServer, Number(process.env.RS_PORT || 0));
const ISSUER = `http://${hostForUrl}:${asPort}`;
const RS_ORIGIN = `http://${hostForUrl}:${rsPort}`;
const RESOURCE = `${RS_ORIGIN}/mcp`;                     // RFC 8707 resource indicator
const PRM_URL = `${RS_ORIGIN}/.well-known/oauth-protected-resource/mcp`; // RFC 9728 path-inserted

function isLoopbackResource(value) {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && !url.hash;
  } catch {
    return false;
  }
}

// --- 2. fresh signing key per run (no key files in the repo, no dev-key warning)
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const stringList = (value) => Array.isArray(value) && value.every((v) => typeof v === 'string');

// --- 3. oidc-provider configuration
const configuration = {
  clients: [],                                 // clients come only from dynamic registration
  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', ...RS_SCOPES.split(' ')],
  claims: { openid: ['sub'] },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  responseTypes: ['code'],                     // OAuth 2.1: authorization code only, no implicit/hybrid
  pkce: { required: () => true },              // PKCE mandatory for every client; only S256 is supported
  extraClientMetadata: {
    properties: ['groups', 'roles', 'access_token_ttl'],
    validator(ctx, key, value) {
      if (value === undefined) return;
      if ((key === 'groups' || key === 'roles') && !stringList(value)) {
        throw new errors.InvalidClientMetadata(`${key} must be an array of strings`);
      }
      if (key === 'access_token_ttl' && !(Number.isInteger(value) && value > 0)) {
        throw new errors.InvalidClientMetadata('access_token_ttl must be a positive integer');
      }
    },
  },
  // groups/roles registered with the client become claims of its access tokens
  extraTokenClaims: async (ctx, token) => {
    const client = ctx.oidc.client ?? (await ctx.oidc.provider.Client.find(token.clientId));
    const claims = {};
    if (client?.groups) claims.groups = client.groups;
    if (client?.roles) claims.roles = client.roles;
    return claims;
  },
  features: {
    devInteractions: { enabled: true },        // built-in login + consent HTML pages (any login/password)
    registration: { enabled: true },           // RFC 7591 open dynamic client registration
    revocation: { enabled: true },             // RFC 7009
    introspection: { enabled: true },          // RFC 7662
    clientCredentials: { enabled: true },      // tests mint tokens for a resource without a browser
    resourceIndicators: {                      // RFC 8707
      enabled: true,
      // strict by default: a client that omits `resource` gets no token for the RS
      // (MCP requires `resource` in both the authorization and the token request).
      // LENIENT_RESOURCE=1 makes the single known resource the default instead.
      defaultResource: (ctx, client, oneOf) => oneOf ?? (LENIENT_RESOURCE ? RESOURCE : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator, client) => {
        const known = resourceIndicator === RESOURCE || (!STRICT_RESOURCE && isLoopbackResource(resourceIndicator));
        if (!known) throw new errors.InvalidTarget();
        return {
          scope: RS_SCOPES,
          audience: resourceIndicator,
          accessTokenTTL: client?.access_token_ttl ?? ACCESS_TOKEN_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // refresh tokens for every client that registered the refresh_token grant
  // (default would require scope offline_access); public clients get rotation.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    ClientCredentials: (ctx, token, client) => client?.access_token_ttl ?? ACCESS_TOKEN_TTL,
    AuthorizationCode: 60,
    Grant: 3600,
    Interaction: 600,
    Session: 3600,
    RefreshToken: 24 * 3600,
    IdToken: 3600,
  },
  clientDefaults: {
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  },
};

const provider = new Provider(ISSUER, configuration);
provider.proxy = false;

// RFC 8414 metadata alias: oidc-provider serves only /.well-known/openid-configuration.
// Also strip the Google-Fonts @import in the built-in pages (no traffic off loopback).
provider.use(async (ctx, next) => {
  if (ctx.path === '/.well-known/oauth-authorization-server') {
    ctx.path = '/.well-known/openid-configuration';
  }
  await next();
  if (typeof ctx.body === 'string' && ctx.type && ctx.type.includes('html')) {
    ctx.body = ctx.body.replace(/@import url\(https?:[^)]*\);?/g, '');
  }
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

asServer.on('request', provider.callback());

// --- 4. protected resource (stands in for an MCP server's HTTP endpoint)
// verifies access tokens against the AS's published JWKS, over loopback HTTP
const JWKS = jose.createRemoteJWKSet(new URL(`${ISSUER}/jwks`));
function json(res, status, obj, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(obj));
}
const challenge = (extra = '') => `Bearer resource_metadata="${PRM_URL}", scope="${RS_SCOPES}"${extra}`;
rsServer.on('request', async (req, res) => {
  const path = new URL(req.url, RS_ORIGIN).pathname;
  if (req.method === 'GET' && (path === '/.well-known/oauth-protected-resource/mcp'
                               || path === '/.well-known/oauth-protected-resource')) {
    return json(res, 200, {
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      scopes_supported: RS_SCOPES.split(' '),
      bearer_methods_supported: ['header'],
      resource_name: 'realparts test resource',
    });
  }
  if (path !== '/mcp') return json(res, 404, { error: 'not_found' });
  const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
  if (!m) return json(res, 401, { error: 'unauthorized' }, { 'www-authenticate': challenge() });
  try {
    const { payload } = await jose.jwtVerify(m[1], JWKS, {
      issuer: ISSUER, audience: RESOURCE, typ: 'at+jwt',
    });
    return json(res, 200, { ok: true, sub: payload.sub, scope: payload.scope, client_id: payload.client_id });
  } catch (e) {
    return json(res, 401, { error: 'invalid_token', detail: e.code || e.message },
      { 'www-authenticate': challenge(', error="invalid_token"') });
  }
});

const info = {
  issuer: ISSUER,
  as_metadata: `${ISSUER}/.well-known/oauth-authorization-server`,
  oidc_discovery: `${ISSUER}/.well-known/openid-configuration`,
  registration_endpoint: `${ISSUER}/reg`,
  token_endpoint: `${ISSUER}/token`,
  jwks_uri: `${ISSUER}/jwks`,
  resource: RESOURCE,
  resource_metadata: PRM_URL,
  scopes: RS_SCOPES.split(' '),
  access_token_ttl: ACCESS_TOKEN_TTL,
  pid: process.pid,
};
if (READY_FILE) {
  fs.writeFileSync(`${READY_FILE}.tmp`, JSON.stringify(info));
  fs.renameSync(`${READY_FILE}.tmp`, READY_FILE);
}
console.log(`READY ${JSON.stringify(info)}`);

function stop() {
  asServer.close(); rsServer.close();
  asServer.closeAllConnections?.(); rsServer.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
