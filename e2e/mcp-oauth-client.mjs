// The official MCP TypeScript client connecting the way interactive clients do: the
// authorization code flow with PKCE against `mcp-auth demo --auto-approve`. It registers
// itself (dynamic client registration, or `cimd`: a Client ID Metadata Document it serves on
// 127.0.0.1), follows the authorization redirect programmatically, calls whoami, waits until
// its access token expires and calls again (the SDK refreshes on the 401), then calls
// admin_report, which needs a scope it was not granted (the 403 step-up sends it back to
// /authorize for more).
//
// usage: node mcp-oauth-client.mjs MCP_URL dcr|cimd EXPIRY_WAIT_MS
// Prints one JSON line: ok, whoami before and after expiry, what admin_report said (or the
// error), the client_id used, and every OAuth exchange (registration, authorization, token
// requests with their grant type, scope and status). Exits 1 when something failed.
//
// One shim, for a gap of SDK 1.32: on a 403 insufficient_scope the transport re-runs auth()
// with the challenge's scope, but auth() prefers a stored refresh token to a new
// authorization, and a refresh cannot widen the scope (RFC 6749 §6), so the retry meets the
// same 403 ("Server returned 403 after trying upscoping"). The shim forgets the refresh
// token on that 403, so auth() sends the user (here: fetch) to /authorize for the new scope.
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';

const [url, mode, expiryWaitMs] = process.argv.slice(2);
if (!['dcr', 'cimd'].includes(mode)) {
  console.error(`unknown mode ${mode}: expected dcr or cimd`);
  process.exit(2);
}
// Nothing listens there: the redirect is read from the Location header, never followed.
const redirectUrl = 'http://127.0.0.1:53682/callback';
const exchanges = [];

// cimd: the client's metadata document, served on a loopback port (the SDK accepts only
// https for `clientMetadataUrl`, so the URL is given as a stored client_id, as the MCP
// Inspector does for http documents).
let documentServer;
let documentUrl;
if (mode === 'cimd') {
  documentServer = http.createServer((request, response) => {
    exchanges.push({ kind: 'document', path: request.url });
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({
      client_id: documentUrl,
      client_name: 'mcp-auth e2e (metadata document)',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }));
  });
  await new Promise((resolve) => documentServer.listen(0, '127.0.0.1', resolve));
  documentUrl = `http://127.0.0.1:${documentServer.address().port}/client.json`;
}

const provider = {
  pendingCode: undefined,
  get redirectUrl() { return redirectUrl; },
  get clientMetadata() {
    return {
      client_name: 'mcp-auth e2e',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    };
  },
  state() { return (this.expectedState = crypto.randomUUID()); },
  clientInformation() { return mode === 'cimd' ? { client_id: documentUrl } : this.client; },
  saveClientInformation(client) { this.client = client; },
  tokens() { return this.saved; },
  saveTokens(tokens) { this.saved = tokens; },
  saveCodeVerifier(verifier) { this.verifier = verifier; },
  codeVerifier() { return this.verifier; },
  invalidateCredentials(what) {
    if (what === 'all' || what === 'tokens') this.saved = undefined;
    if (what === 'all') this.client = undefined;
  },
  // The "browser": the issuer approves at once and redirects with the code.
  async redirectToAuthorization(authorizationUrl) {
    const response = await fetch(authorizationUrl, { redirect: 'manual' });
    const params = authorizationUrl.searchParams;
    const entry = { kind: 'authorize', status: response.status, scope: params.get('scope'), resource: params.get('resource') };
    exchanges.push(entry);
    const location = response.headers.get('location');
    if (response.status !== 302 || !location) throw new Error(`authorization answered ${response.status}`);
    const back = new URL(location);
    entry.iss = back.searchParams.get('iss');
    if (back.searchParams.get('state') !== this.expectedState) throw new Error('state mismatch');
    if (back.searchParams.has('error')) throw new Error(`authorization refused: ${back.searchParams.get('error')}`);
    this.pendingCode = back.searchParams.get('code');
  },
};

const recordingFetch = async (input, init) => {
  const target = new URL(String(input));
  const response = await fetch(input, init);
  if (target.pathname.endsWith('/register')) {
    exchanges.push({ kind: 'register', status: response.status });
  } else if (target.pathname.endsWith('/token')) {
    const form = new URLSearchParams(String(init?.body ?? ''));
    exchanges.push({
      kind: 'token',
      grant_type: form.get('grant_type'),
      scope: form.get('scope'),
      resource: form.get('resource'),
      status: response.status,
    });
  } else if (target.href === url && (response.status === 401 || response.status === 403)) {
    const { error, scope } = extractWWWAuthenticateParams(response);
    exchanges.push({ kind: 'mcp', status: response.status, error, scope });
    if (response.status === 403 && error === 'insufficient_scope' && provider.saved) {
      delete provider.saved.refresh_token;
    }
  }
  return response;
};

let transport;
let client;

/// Finishes the authorization the SDK stopped for (its UnauthorizedError) with the code the
/// redirect carried: what an app does when its callback fires.
async function finishAuthorization(error) {
  if (!(error instanceof UnauthorizedError) || !provider.pendingCode) throw error;
  const code = provider.pendingCode;
  provider.pendingCode = undefined;
  await transport.finishAuth(code);
}

/// Connects, authorizing first if needed (then with a new transport, as the SDK's example
/// client does: the first one is started already).
async function connect() {
  for (let attempt = 0; ; attempt++) {
    transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: recordingFetch });
    client = new Client({ name: 'mcp-auth-e2e-oauth', version: '1.0.0' });
    try {
      return await client.connect(transport);
    } catch (error) {
      if (attempt > 0) throw error;
      await finishAuthorization(error);
    }
  }
}

/// Runs `call`, and again once after an authorization (a step-up).
async function authorized(call) {
  try {
    return await call();
  } catch (error) {
    await finishAuthorization(error);
    return await call();
  }
}
const whoami = async () => JSON.parse((await authorized(() => client.callTool({ name: 'whoami', arguments: {} }))).content[0].text);

let out;
try {
  await connect();
  const first = await whoami();
  await new Promise((resolve) => setTimeout(resolve, Number(expiryWaitMs)));
  const afterExpiry = await whoami();
  const admin = await authorized(() => client.callTool({ name: 'admin_report', arguments: {} }));
  out = {
    ok: true,
    client_id: mode === 'cimd' ? documentUrl : provider.client?.client_id,
    whoami: first,
    after_expiry: afterExpiry,
    admin: { isError: admin.isError ?? false, text: admin.content[0]?.text },
  };
} catch (error) {
  out = { ok: false, error: `${error?.constructor?.name}: ${error?.message ?? error}` };
}
out.exchanges = exchanges;
console.log(JSON.stringify(out));
await client?.close().catch(() => {});
documentServer?.close();
process.exit(out.ok ? 0 : 1);
