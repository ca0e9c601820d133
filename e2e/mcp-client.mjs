// The official MCP TypeScript client doing the whole OAuth dance against an mcp-auth server:
// no token -> 401 -> Protected Resource Metadata -> authorization server discovery ->
// client_credentials token for the resource (RFC 8707) -> retry -> tools/list -> tools/call.
//
// usage: node mcp-client.mjs MCP_URL CLIENT_ID CLIENT_SECRET SCOPE EXPECTED_ISSUER
// Prints one JSON line: the tools, what whoami and admin_report said, and every HTTP exchange.
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

const authProvider = new ClientCredentialsProvider({ clientId, clientSecret, scope, expectedIssuer });
const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider, fetch: recordingFetch });
const client = new Client({ name: 'mcp-auth-e2e', version: '1.0.0' });

try {
  await client.connect(transport);
  const tools = await client.listTools();
  const whoami = await client.callTool({ name: 'whoami', arguments: {} });
  const admin = await client.callTool({ name: 'admin_report', arguments: {} });
  console.log(JSON.stringify({
    tools: tools.tools.map((tool) => tool.name).sort(),
    whoami: JSON.parse(whoami.content[0].text),
    admin: { isError: admin.isError ?? false, text: admin.content[0].text },
    exchanges,
  }));
  await client.close();
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.message ?? error), exchanges }));
  process.exitCode = 1;
}
