// A certified OpenID provider (panva/oidc-provider) set up as an MCP authorization server for
// the end-to-end tests: client_credentials, resource indicators (RFC 8707) and JWT access
// tokens (RFC 9068). Listens on 127.0.0.1 (port 0) and prints `ISSUER=<url>` once ready.
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
  ],
  scopes: ['openid', ...SCOPES.split(' ')],
  jwks: { keys: [signingKey] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      // Any http(s) resource on this machine is a resource server of ours; tokens for it are
      // JWTs whose audience is exactly the requested resource.
      getResourceServerInfo: (ctx, resourceIndicator) => {
        const url = new URL(resourceIndicator);
        if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
          throw new errors.InvalidTarget();
        }
        return {
          scope: SCOPES,
          audience: resourceIndicator,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
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
