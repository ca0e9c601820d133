// The official MCP TypeScript client calling `admin_report`, a tool whose per-tool rule the
// token may not satisfy: mcp-auth answers 403 insufficient_scope with every scope the call needs
// (MCP step-up), and the SDK's transport re-runs auth() and retries the request once.
//
// usage: node mcp-stepup-client.mjs MCP_URL CLIENT_ID CLIENT_SECRET SCOPE EXPECTED_ISSUER [step-up]
// Prints one JSON line: ok, what admin_report (then whoami) said or the error, every token
// request (its form fields and status), every HTTP exchange, and the session id if any.
// Exits 1 when the call failed.
//
// `step-up` turns on a shim for a gap of SDK 1.32: with ClientCredentialsProvider the token
// request always sends the provider's static `clientMetadata.scope` (fetchToken() in
// client/auth.js), never the scope of the 403 challenge, so the retry gets the same token and
// the same 403 ("Server returned 403 after trying upscoping"). The shim copies the challenge's
// scope into `authProvider.clientMetadata.scope`; the SDK's own 403 path does the rest.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';

const [url, clientId, clientSecret, scope, expectedIssuer, mode] = process.argv.slice(2);
if (mode !== undefined && mode !== 'step-up') {
  console.error(`unknown mode ${mode}: expected step-up or nothing`);
  process.exit(2);
}
const stepUp = mode === 'step-up';

const authProvider = new ClientCredentialsProvider({ clientId, clientSecret, scope, expectedIssuer });
const exchanges = [];
const tokenRequests = [];
const recordingFetch = async (input, init) => {
  const target = String(input);
  const method = init?.method ?? 'GET';
  const response = await fetch(input, init);
  const form = method === 'POST' && target !== url ? new URLSearchParams(String(init?.body ?? '')) : null;
  if (form?.has('grant_type')) {
    tokenRequests.push({ ...Object.fromEntries(form), status: response.status });
  }
  exchanges.push({ method, url: target, status: response.status });
  if (stepUp && response.status === 403) {
    const { error, scope: wanted } = extractWWWAuthenticateParams(response);
    if (error === 'insufficient_scope' && wanted) {
      authProvider.clientMetadata.scope = wanted;
    }
  }
  return response;
};

const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider, fetch: recordingFetch });
const client = new Client({ name: 'mcp-auth-e2e-stepup', version: '1.0.0' });
let out;
try {
  await client.connect(transport);
  const admin = await client.callTool({ name: 'admin_report', arguments: {} });
  const whoami = await client.callTool({ name: 'whoami', arguments: {} });
  out = {
    ok: true,
    admin: { isError: admin.isError ?? false, text: admin.content[0]?.text },
    whoami: JSON.parse(whoami.content[0].text),
  };
} catch (error) {
  // StreamableHTTPError does not set `name`: its class name tells it apart.
  out = {
    ok: false,
    error: {
      name: error?.constructor?.name,
      code: error?.code ?? error?.errorCode,
      message: String(error?.message ?? error),
    },
  };
  process.exitCode = 1;
}
console.log(JSON.stringify({ ...out, sessionId: transport.sessionId ?? null, tokenRequests, exchanges }));
await client.close().catch(() => {});
