// An MCP server with no authorization at all, written with the official TypeScript SDK: the
// kind of server `mcp-auth proxy` is put in front of. Stateful Streamable HTTP sessions on
// node:http, SSE responses (the SDK's default), and three tools:
// - `progress`: three progress notifications 400 ms apart (on the request's SSE stream, to the
//   request's progressToken), then the result 400 ms after the last one;
// - `echo_headers`: the HTTP request headers this server received for the call, as JSON text;
// - `delete`: answers "deleted" (the proxy guards it with a per-tool scope).
//
// usage: node mcp-upstream-server.mjs [PORT]   (default 0: any free port, on 127.0.0.1)
// Prints `URL=<its MCP endpoint>` once listening, `SESSION_OPENED=<id>` and
// `SESSION_CLOSED=<id>` as sessions come and go (a DELETE closes one).
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const PAUSE_MS = 400;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value) => ({ content: [{ type: 'text', text: value }] });

function mcpServer() {
  const server = new McpServer({ name: 'mcp-auth-e2e-upstream', version: '1.0.0' });
  server.registerTool('progress', { description: 'Three progress notifications, 400 ms apart' }, async (extra) => {
    const progressToken = extra._meta?.progressToken;
    for (let step = 1; step <= 3; step++) {
      if (progressToken !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress: step, total: 3, message: `step ${step} of 3` },
        });
      }
      await sleep(PAUSE_MS);
    }
    return text('done');
  });
  server.registerTool('echo_headers', { description: 'The HTTP request headers this server received' }, async (extra) =>
    text(JSON.stringify(extra.requestInfo?.headers ?? null)));
  server.registerTool('delete', { description: 'Deletes nothing, says "deleted"' }, async () => text('deleted'));
  return server;
}

/** The open sessions' transports, by session id. */
const sessions = new Map();

async function jsonBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function answer(res, status, message) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

async function handle(req, res) {
  if (new URL(req.url, 'http://upstream').pathname !== '/mcp') {
    return answer(res, 404, 'not found');
  }
  const body = req.method === 'POST' ? await jsonBody(req) : undefined;
  const sessionId = req.headers['mcp-session-id'];
  const known = sessionId === undefined ? undefined : sessions.get(sessionId);
  if (known) {
    return known.handleRequest(req, res, body);
  }
  if (sessionId !== undefined) {
    return answer(res, 404, 'Session not found');
  }
  if (req.method !== 'POST' || !isInitializeRequest(body)) {
    return answer(res, 400, 'Bad Request: No valid session ID provided');
  }
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => {
      sessions.set(id, transport);
      console.log(`SESSION_OPENED=${id}`);
    },
  });
  transport.onclose = () => {
    const id = transport.sessionId;
    if (id !== undefined && sessions.delete(id)) {
      console.log(`SESSION_CLOSED=${id}`);
    }
  };
  await mcpServer().connect(transport);
  return transport.handleRequest(req, res, body);
}

const http = createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error('upstream: request failed', error);
    if (!res.headersSent) answer(res, 500, 'Internal server error');
  });
});
await new Promise((resolve) => http.listen(Number(process.argv[2] ?? 0), '127.0.0.1', resolve));
console.log(`URL=http://127.0.0.1:${http.address().port}/mcp`);

// The test harness holds our stdin open; when it goes away (even killed), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
