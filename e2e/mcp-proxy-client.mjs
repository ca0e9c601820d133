// The official MCP TypeScript client calling e2e/mcp-upstream-server.mjs through
// `mcp-auth proxy`: the whole OAuth dance against the proxy (401 -> Protected Resource Metadata
// -> authorization server discovery -> client_credentials token for the resource -> retry), then
// `progress` with an onprogress callback, `echo_headers`, `delete` (which the proxy's per-tool
// rule may refuse with 403 insufficient_scope) and the session's DELETE. Every request also
// carries `X-MCP-Auth-Subject: attacker`, an identity the proxy must not let through.
//
// usage: node mcp-proxy-client.mjs MCP_URL CLIENT_ID CLIENT_SECRET SCOPE EXPECTED_ISSUER
// Prints one JSON line: what each step gave (or its error), the time of each progress
// notification and of the progress result (ms, one clock), the session id, whether the session
// was terminated, and every HTTP exchange. Exits 1 when connecting or a call other than `delete`
// failed.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';

const [url, clientId, clientSecret, scope, expectedIssuer] = process.argv.slice(2);
const exchanges = [];
const recordingFetch = async (input, init) => {
  const response = await fetch(input, init);
  exchanges.push({ method: init?.method ?? 'GET', url: String(input), status: response.status });
  return response;
};

// StreamableHTTPError does not set `name`: its class name tells it apart.
const failure = (error) => ({
  name: error?.constructor?.name,
  code: error?.code ?? error?.errorCode,
  message: String(error?.message ?? error),
});

const authProvider = new ClientCredentialsProvider({ clientId, clientSecret, scope, expectedIssuer });
const transport = new StreamableHTTPClientTransport(new URL(url), {
  authProvider,
  fetch: recordingFetch,
  requestInit: { headers: { 'X-MCP-Auth-Subject': 'attacker' } },
});
const client = new Client({ name: 'mcp-auth-e2e-proxy', version: '1.0.0' });
const out = { ok: false };

try {
  await client.connect(transport);
  out.sessionId = transport.sessionId ?? null;

  const progressAt = [];
  const progress = await client.callTool({ name: 'progress', arguments: {} }, undefined, {
    onprogress: (notification) => progressAt.push({ at: performance.now(), progress: notification.progress }),
  });
  out.progress = { text: progress.content[0]?.text, notifications: progressAt, resultAt: performance.now() };

  const echoed = await client.callTool({ name: 'echo_headers', arguments: {} });
  out.echoHeaders = JSON.parse(echoed.content[0].text);

  try {
    const deleted = await client.callTool({ name: 'delete', arguments: {} });
    out.delete = { ok: true, text: deleted.content[0]?.text };
  } catch (error) {
    out.delete = { ok: false, error: failure(error) };
  }

  await transport.terminateSession();
  out.terminated = transport.sessionId === undefined;
  out.ok = true;
} catch (error) {
  out.error = failure(error);
  process.exitCode = 1;
}
console.log(JSON.stringify({ ...out, exchanges }));
await client.close().catch(() => {});
