// A certified OpenID provider (oidc-provider) for tests/test_remote_auth.py: `node provider.mjs PORT`.
// Client-credentials clients get JWT access tokens bound to the requested resource (RFC 8707). Prints one JSON
// line, {"issuer": ...}, once it listens. Test-only: in-memory storage, keys generated at start.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const prefix = 'commercetools-customers';
const read = `${prefix}:read`;
const write = `${prefix}:write`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signing = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rsa-1', use: 'sig', alg: 'RS256' };

const client = (id, scope, extra = {}) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  scope,
  ...extra,
});

const provider = new Provider(issuer, {
  jwks: { keys: [signing] },
  scopes: ['openid', read, write, 'other:read'],
  clients: [
    client('writer', `${read} ${write}`),
    client('reader', read),
    client('eu-writer', write, { pcids: ['eu'] }),
    client('other', 'other:read'),
  ],
  extraClientMetadata: { properties: ['pcids'] },
  extraTokenClaims: async (ctx) => (ctx.oidc.client?.pcids ? { pcids: ctx.oidc.client.pcids } : undefined),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: `${read} ${write} other:read`,
        audience: resource,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 300,
      }),
    },
  },
});

provider.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ issuer })));
