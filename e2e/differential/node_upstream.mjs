// The Node reader of the differential suite: an MCP-ish JSON-RPC server on node:http that
// executes (records) what it parsed, reading requests the way Express apps commonly do:
//
// - headers from req.headers (names lower-cased; repeats of one header joined with ", ");
// - the method from req.method, replaced by X-HTTP-Method-Override when sent (as Express's
//   method-override middleware does); only POST carries JSON-RPC;
// - the body inflated when Content-Encoding is gzip or deflate and a leading BOM stripped (as
//   body-parser does), then JSON.parse (the last of two members wins);
// - the routed path: new URL(req.url) (which resolves dot segments, `%2e` ones included, and
//   reads `\` as `/`), decodeURIComponent, path.posix.normalize;
// - tools and prompts looked up by name.trim().toLowerCase() (U+212A Kelvin lower-cases to k);
// - a resource URI resolved with new URL(uri), decodeURIComponent(pathname) and
//   path.posix.normalize, lower-cased: the flavour of a server on a case-insensitive
//   filesystem (macOS, Windows), where /PRIVATE/x opens /private/x.
//
// It listens on 127.0.0.1:0, prints its port, and serves what it recorded at GET /__records.
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';

const TOOLS = ['whoami', 'echo', 'admin_report', 'kill_switch'];
const PROMPTS = ['hello', 'secret_prompt'];
const METHODS = ['initialize', 'ping', 'tools/list', 'tools/call', 'prompts/list', 'prompts/get', 'resources/list', 'resources/read', 'logging/setLevel', 'completion/complete'];
// Headers by which a proxy in front tells about the request, besides X-Forwarded*.
const FORWARDED = [
  'forwarded', 'x-real-ip', 'x-original-url', 'x-rewrite-url', 'x-client-ip', 'true-client-ip',
  'cf-connecting-ip', 'x-cluster-client-ip', 'x-host',
];
const records = [];
const sessions = {};

const lookup = (known, name) => {
  if (typeof name !== 'string') return null;
  const wanted = name.trim().toLowerCase();
  return known.find((candidate) => candidate === wanted) ?? null;
};

const decode = (text) => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

const resolve = (uri) => {
  let url;
  try {
    url = new URL(uri);
  } catch {
    return null;
  }
  if (url.protocol !== 'file:') return null;
  return path.posix.normalize(decode(url.pathname)).toLowerCase();
};

const routedPath = (target) => {
  let pathname;
  try {
    pathname = new URL(target, 'http://upstream').pathname;
  } catch {
    pathname = target.split('?')[0];
  }
  return path.posix.normalize(decode(pathname));
};

const execute = (message, record) => {
  if (message === null || typeof message !== 'object' || !('method' in message)) return null;
  const method = message.method;
  record.executed.push({ kind: 'method', name: method, resolved: METHODS.includes(method) ? method : null });
  const params = message.params !== null && typeof message.params === 'object' ? message.params : {};
  let result = {};
  if (method === 'initialize') {
    const session = `node-session-${Object.keys(sessions).length + 1}`;
    sessions[session] = record.identity;
    record.newSession = session;
    result = { protocolVersion: '2025-06-18' };
  } else if (method === 'tools/call') {
    const tool = lookup(TOOLS, params.name);
    if (tool) {
      record.executed.push({ kind: 'tool', name: params.name, resolved: tool });
      result = { content: [{ type: 'text', text: `ran ${tool}` }] };
    }
  } else if (method === 'prompts/get') {
    const prompt = lookup(PROMPTS, params.name);
    if (prompt) record.executed.push({ kind: 'prompt', name: params.name, resolved: prompt });
  } else if (method === 'completion/complete') {
    const ref = params.ref !== null && typeof params.ref === 'object' ? params.ref : {};
    if (ref.type === 'ref/prompt') {
      const prompt = lookup(PROMPTS, ref.name);
      if (prompt) record.executed.push({ kind: 'prompt', name: ref.name, resolved: prompt });
    } else if (ref.type === 'ref/resource') {
      record.executed.push({ kind: 'resource', name: ref.uri, resolved: resolve(ref.uri) });
    }
  } else if (method === 'resources/read') {
    record.executed.push({ kind: 'resource', name: params.uri, resolved: resolve(params.uri) });
  }
  if (!('id' in message)) return null;
  return { jsonrpc: '2.0', id: message.id, result };
};

const inflate = (body, encoding) => {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
      return zlib.gunzipSync(body);
    case 'deflate':
      return zlib.inflateSync(body);
    default:
      return body;
  }
};

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    if (req.url === '/__records' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ records, sessions }));
      return;
    }
    const override = req.headers['x-http-method-override'];
    const method = override ? override.toUpperCase() : req.method;
    const forwarded = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith('x-forwarded') || FORWARDED.includes(name)) forwarded[name] = value;
    }
    const record = {
      case: req.headers['x-case'] ?? null,
      method_seen: method,
      path_seen: routedPath(req.url),
      raw_target: req.url,
      executed: [],
      identity: {
        subject: req.headers['x-mcp-auth-subject'] ?? null,
        client_id: req.headers['x-mcp-auth-client-id'] ?? null,
        scopes: req.headers['x-mcp-auth-scopes'] ?? null,
        issuer: req.headers['x-mcp-auth-issuer'] ?? null,
      },
      session: req.headers['mcp-session-id'] ?? null,
      forwarded,
    };
    let status = 200;
    let answer = null;
    if (record.session && !(record.session in sessions)) {
      status = 404;
    } else if (method === 'POST') {
      let parsed = null;
      try {
        const text = inflate(Buffer.concat(chunks), req.headers['content-encoding']).toString('utf8');
        parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
      } catch {
        parsed = null;
      }
      if (Array.isArray(parsed)) {
        answer = parsed.map((m) => execute(m, record)).filter((a) => a !== null);
      } else if (parsed !== null) {
        answer = execute(parsed, record);
      }
    }
    const newSession = record.newSession;
    delete record.newSession;
    records.push(record);
    const headers = { 'content-type': 'application/json' };
    if (newSession) headers['mcp-session-id'] = newSession;
    if (answer === null && status === 200) status = 202;
    res.writeHead(status, headers);
    res.end(answer === null ? '' : JSON.stringify(answer));
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
