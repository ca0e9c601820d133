// A small DPoP client (RFC 9449) built on `jose`, since the MCP TypeScript SDK 1.32 sends Bearer
// only: it makes an EC P-256 key, gets a DPoP-bound access token from oidc-provider with
// client_credentials (a proof on the token request, RFC 8707 `resource` = the MCP endpoint), then
// speaks MCP over Streamable HTTP with `Authorization: DPoP <token>` and a fresh proof on every
// request (initialize, notifications/initialized, tools/call TOOL). Last, it replays its last
// request with the same proof, and sends the token as Bearer: both must be refused.
//
// usage: node mcp-dpop-client.mjs MCP_URL CLIENT_ID CLIENT_SECRET SCOPE ISSUER TOOL
// Prints one JSON line: the token type, the tool's text, the statuses and challenges of the two
// refusals. Exits 1 when the token or a call failed.
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { createHash, randomUUID } from 'node:crypto';

const [url, clientId, clientSecret, scope, issuer, tool] = process.argv.slice(2);
const out = { ok: false };

const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwk = await exportJWK(publicKey);

/** A proof for one request; `token` adds `ath`. */
const proof = (htm, htu, token) =>
  new SignJWT({
    htm,
    htu,
    jti: randomUUID(),
    ...(token ? { ath: createHash('sha256').update(token).digest('base64url') } : {}),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
    .setIssuedAt()
    .sign(privateKey);

try {
  const metadata = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const tokenResponse = await fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await proof('POST', metadata.token_endpoint),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource: url }),
  });
  const grant = await tokenResponse.json();
  out.tokenType = grant.token_type;
  const token = grant.access_token;
  if (!token) throw new Error(`no token: ${JSON.stringify(grant)}`);
  out.boundTo = JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).cnf?.jkt;
  out.thumbprint = await calculateJwkThumbprint(jwk);

  let session;
  let last;
  /** One JSON-RPC message over Streamable HTTP; returns the status and the JSON-RPC answer. */
  const send = async (message, { scheme = 'DPoP', reuse } = {}) => {
    const headers = {
      authorization: `${scheme} ${token}`,
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      'mcp-protocol-version': '2025-11-25',
    };
    if (session) headers['mcp-session-id'] = session;
    if (scheme === 'DPoP') headers.dpop = reuse ?? (await proof('POST', url, token));
    last = headers.dpop;
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(message) });
    session = response.headers.get('mcp-session-id') ?? session;
    const text = await response.text();
    const data = text
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim())
      .pop();
    const challenge = response.headers.get('www-authenticate');
    let answer;
    try {
      answer = JSON.parse(data ?? text);
    } catch {
      answer = text;
    }
    return { status: response.status, answer, challenge };
  };

  const init = await send({
    jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'mcp-auth-e2e-dpop', version: '1.0.0' } },
  });
  if (init.status !== 200) throw new Error(`initialize: ${init.status} ${init.challenge}`);
  const initialized = await send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  if (initialized.status >= 300) throw new Error(`initialized: ${initialized.status}`);
  const call = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: tool, arguments: {} } };
  const called = await send(call);
  if (called.status !== 200) throw new Error(`tools/call: ${called.status} ${called.challenge}`);
  out.text = called.answer?.result?.content?.[0]?.text;

  const replayed = await send({ ...call, id: 3 }, { reuse: last });
  out.replay = { status: replayed.status, challenge: replayed.challenge };
  const bearer = await send({ ...call, id: 4 }, { scheme: 'Bearer' });
  out.bearer = { status: bearer.status, challenge: bearer.challenge };
  out.ok = true;
} catch (error) {
  out.error = String(error?.message ?? error);
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
