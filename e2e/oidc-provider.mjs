// A certified OpenID provider (panva/oidc-provider) set up as an MCP authorization server for
// the end-to-end tests: client_credentials, resource indicators (RFC 8707), JWT access tokens
// (RFC 9068), and opaque access tokens with introspection (RFC 7662) for one client. Listens on
// 127.0.0.1 (port 0) and prints `ISSUER=<url>` once ready.
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const SCOPES = 'mcp:tools mcp:admin';

// Clients of the client_credentials grant. A client's `scope` is what it may ask for: a request
// for more is refused with invalid_scope (the resource server's scope below must stay the full
// set, or the provider would drop the extra scope silently instead).
const client = (id, scope) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
  scope,
});

// The resource server's own client: `mcp-auth serve --introspection` authenticates as it at the
// introspection endpoint (client_secret_basic: oidc-provider authenticates a client there with
// its token_endpoint_auth_method). It gets no tokens, and only it may introspect.
const RESOURCE_SERVER = {
  client_id: 'mcp-e2e-resource-server',
  client_secret: 'mcp-e2e-resource-server-secret',
  grant_types: [],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
};

// Clients whose access tokens are opaque: the resource server learns what they stand for only by
// introspection. Every other client gets JWTs.
const OPAQUE_TOKEN_CLIENTS = new Set(['mcp-e2e-opaque']);

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    // mcp-e2e / mcp-e2e-secret: every scope, admin included.
    client('mcp-e2e', SCOPES),
    // mcp-e2e-limited / mcp-e2e-limited-secret: mcp:tools only, so a step-up to mcp:admin fails.
    client('mcp-e2e-limited', 'mcp:tools'),
    // mcp-e2e-opaque / mcp-e2e-opaque-secret: every scope, in opaque access tokens.
    client('mcp-e2e-opaque', SCOPES),
    RESOURCE_SERVER,
  ],
  scopes: ['openid', ...SCOPES.split(' ')],
  jwks: { keys: [signingKey] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // Only the resource server learns what a token stands for; anyone else hears
      // `{"active": false}`.
      allowedPolicy: (ctx, caller) => caller.clientId === RESOURCE_SERVER.client_id,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      // Any http(s) resource on this machine is a resource server of ours; tokens for it have
      // exactly the requested resource as audience, and are JWTs unless the client is one of
      // OPAQUE_TOKEN_CLIENTS.
      getResourceServerInfo: (ctx, resourceIndicator, client) => {
        const url = new URL(resourceIndicator);
        if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
          throw new errors.InvalidTarget();
        }
        const info = { scope: SCOPES, audience: resourceIndicator, accessTokenTTL: 3600 };
        if (OPAQUE_TOKEN_CLIENTS.has(client?.clientId)) {
          return { ...info, accessTokenFormat: 'opaque' };
        }
        return { ...info, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
});
provider.on('server_error', (ctx, error) => console.error('oidc-provider server_error', error));

server.on('request', provider.callback());
console.log(`ISSUER=${issuer}`);

// The test harness holds our stdin open; when it goes away (even killed), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
