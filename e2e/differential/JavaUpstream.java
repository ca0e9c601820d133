// The Java reader of the differential suite: an MCP-ish JSON-RPC server on the JDK's
// com.sun.net.httpserver that executes (records) what it parsed, reading requests the way a
// Spring/Jackson service configured for leniency does:
//
// - Jackson binding into classes with `method`, `params`, `name`, `uri` fields, with
//   ACCEPT_CASE_INSENSITIVE_PROPERTIES (the last of `name`/`Name` wins) and the lenient read
//   features many services turn on: comments, single quotes, unquoted names, trailing commas,
//   NaN; Jackson detects UTF-8 (BOM or not), UTF-16 and UTF-32 from the bytes;
// - headers through Headers.getFirst (case-insensitive, the first value);
// - only POST carries JSON-RPC;
// - the routed path read as Tomcat reads it: `;parameters` cut from every segment before
//   decoding (so `..;` is `..`), then decoded and normalised;
// - tools and prompts looked up with name.strip().equalsIgnoreCase(known), which folds
//   U+212A (Kelvin) to k and U+017F (long s) to s;
// - a resource URI resolved with new URI(uri).getPath() (decoded) and Path.normalize().
//
// It listens on 127.0.0.1:0, prints its port, and serves what it recorded at GET /__records.
// Compiled at test time: javac -cp jackson-databind.jar:jackson-core.jar:jackson-annotations.jar.

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

public class JavaUpstream {
    public static class Message {
        public String jsonrpc;
        public JsonNode id;
        public String method;
        public JsonNode params;
    }

    public static class NameParams {
        public String name;
        public JsonNode arguments;
    }

    public static class UriParams {
        public String uri;
    }

    public static class Ref {
        public String type;
        public String name;
        public String uri;
    }

    public static class CompleteParams {
        public Ref ref;
    }

    /** Headers by which a proxy in front tells about the request, besides X-Forwarded*. */
    static final List<String> CLAIMS = List.of("forwarded", "x-real-ip", "x-original-url", "x-rewrite-url",
            "x-client-ip", "true-client-ip", "cf-connecting-ip", "x-cluster-client-ip", "x-host");

    static final List<String> TOOLS = List.of("whoami", "echo", "admin_report", "kill_switch");
    static final List<String> PROMPTS = List.of("hello", "secret_prompt");
    static final List<String> METHODS = List.of("initialize", "ping", "tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list", "resources/read", "logging/setLevel", "completion/complete");
    static final List<Map<String, Object>> RECORDS = new ArrayList<>();
    static final Map<String, Object> SESSIONS = new LinkedHashMap<>();
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .configure(MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES, true)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .enable(JsonReadFeature.ALLOW_JAVA_COMMENTS, JsonReadFeature.ALLOW_SINGLE_QUOTES,
                    JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES, JsonReadFeature.ALLOW_TRAILING_COMMA,
                    JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    static String lookup(List<String> known, String name) {
        if (name == null) return null;
        for (String candidate : known) {
            if (name.strip().equalsIgnoreCase(candidate)) return candidate;
        }
        return null;
    }

    static String resolve(String uri) {
        try {
            URI parsed = new URI(uri);
            if (!"file".equalsIgnoreCase(parsed.getScheme()) || parsed.getPath() == null) return null;
            return Paths.get(parsed.getPath()).normalize().toString();
        } catch (Exception e) {
            return null;
        }
    }

    static String tomcatPath(String rawPath) {
        StringBuilder cut = new StringBuilder();
        for (String segment : rawPath.split("/", -1)) {
            int semicolon = segment.indexOf(';');
            if (cut.length() > 0 || !segment.isEmpty()) cut.append('/');
            cut.append(semicolon >= 0 ? segment.substring(0, semicolon) : segment);
        }
        String decoded = URLDecoder.decode(cut.toString().replace("+", "%2B"), StandardCharsets.UTF_8);
        String normalized = Paths.get(decoded.isEmpty() ? "/" : decoded).normalize().toString();
        return normalized.startsWith("/") ? normalized : "/" + normalized;
    }

    static Map<String, Object> entry(String kind, String name, String resolved) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("kind", kind);
        entry.put("name", name);
        entry.put("resolved", resolved);
        return entry;
    }

    @SuppressWarnings("unchecked")
    static Object execute(JsonNode node, Map<String, Object> record) {
        Message message;
        try {
            message = MAPPER.treeToValue(node, Message.class);
        } catch (Exception e) {
            return null;
        }
        if (message == null || message.method == null) return null;
        List<Map<String, Object>> executed = (List<Map<String, Object>>) record.get("executed");
        executed.add(entry("method", message.method, METHODS.contains(message.method) ? message.method : null));
        Map<String, Object> result = new LinkedHashMap<>();
        try {
            switch (message.method) {
                case "initialize": {
                    String session = "java-session-" + (SESSIONS.size() + 1);
                    SESSIONS.put(session, record.get("identity"));
                    record.put("new_session", session);
                    result.put("protocolVersion", "2025-06-18");
                    break;
                }
                case "tools/call": {
                    NameParams p = MAPPER.treeToValue(message.params, NameParams.class);
                    String tool = p == null ? null : lookup(TOOLS, p.name);
                    if (tool != null) executed.add(entry("tool", p.name, tool));
                    break;
                }
                case "prompts/get": {
                    NameParams p = MAPPER.treeToValue(message.params, NameParams.class);
                    String prompt = p == null ? null : lookup(PROMPTS, p.name);
                    if (prompt != null) executed.add(entry("prompt", p.name, prompt));
                    break;
                }
                case "completion/complete": {
                    CompleteParams p = MAPPER.treeToValue(message.params, CompleteParams.class);
                    Ref ref = p == null ? null : p.ref;
                    if (ref != null && "ref/prompt".equals(ref.type)) {
                        String prompt = lookup(PROMPTS, ref.name);
                        if (prompt != null) executed.add(entry("prompt", ref.name, prompt));
                    } else if (ref != null && "ref/resource".equals(ref.type)) {
                        executed.add(entry("resource", ref.uri, ref.uri == null ? null : resolve(ref.uri)));
                    }
                    break;
                }
                case "resources/read": {
                    UriParams p = MAPPER.treeToValue(message.params, UriParams.class);
                    if (p != null) executed.add(entry("resource", p.uri, p.uri == null ? null : resolve(p.uri)));
                    break;
                }
                default:
                    break;
            }
        } catch (Exception e) {
            // A parameter of the wrong shape: nothing more is executed.
        }
        if (message.id == null) return null;
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("jsonrpc", "2.0");
        answer.put("id", message.id);
        answer.put("result", result);
        return answer;
    }

    static void handle(HttpExchange exchange) throws IOException {
        byte[] body = exchange.getRequestBody().readAllBytes();
        String method = exchange.getRequestMethod();
        String rawPath = exchange.getRequestURI().getRawPath();
        if ("/__records".equals(rawPath) && "GET".equals(method)) {
            byte[] out;
            synchronized (RECORDS) {
                Map<String, Object> all = new LinkedHashMap<>();
                all.put("records", RECORDS);
                all.put("sessions", SESSIONS);
                out = MAPPER.writeValueAsBytes(all);
            }
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, out.length);
            exchange.getResponseBody().write(out);
            exchange.close();
            return;
        }
        var headers = exchange.getRequestHeaders();
        Map<String, Object> identity = new LinkedHashMap<>();
        identity.put("subject", headers.getFirst("X-MCP-Auth-Subject"));
        identity.put("client_id", headers.getFirst("X-MCP-Auth-Client-Id"));
        identity.put("scopes", headers.getFirst("X-MCP-Auth-Scopes"));
        identity.put("issuer", headers.getFirst("X-MCP-Auth-Issuer"));
        Map<String, Object> forwarded = new LinkedHashMap<>();
        for (var header : headers.entrySet()) {
            String name = header.getKey().toLowerCase();
            if (name.startsWith("x-forwarded") || CLAIMS.contains(name)) {
                forwarded.put(name, String.join(", ", header.getValue()));
            }
        }
        Map<String, Object> record = new LinkedHashMap<>();
        String raw = exchange.getRequestURI().getRawPath();
        String query = exchange.getRequestURI().getRawQuery();
        record.put("case", headers.getFirst("X-Case"));
        record.put("method_seen", method);
        record.put("path_seen", tomcatPath(raw == null ? "/" : raw));
        record.put("raw_target", query == null ? raw : raw + "?" + query);
        record.put("executed", new ArrayList<Map<String, Object>>());
        record.put("identity", identity);
        String session = headers.getFirst("Mcp-Session-Id");
        record.put("session", session);
        record.put("forwarded", forwarded);
        int status = 200;
        Object answer = null;
        synchronized (RECORDS) {
            if (session != null && !session.isEmpty() && !SESSIONS.containsKey(session)) {
                status = 404;
            } else if ("POST".equals(method)) {
                JsonNode parsed = null;
                try {
                    parsed = MAPPER.readTree(body);
                } catch (Exception e) {
                    parsed = null;
                }
                if (parsed != null && parsed.isArray()) {
                    List<Object> answers = new ArrayList<>();
                    for (JsonNode one : parsed) {
                        Object a = execute(one, record);
                        if (a != null) answers.add(a);
                    }
                    answer = answers;
                } else if (parsed != null && !parsed.isMissingNode()) {
                    answer = execute(parsed, record);
                }
            }
            Object newSession = record.remove("new_session");
            if (newSession != null) exchange.getResponseHeaders().set("Mcp-Session-Id", (String) newSession);
            RECORDS.add(record);
        }
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        if (answer == null && status == 200) status = 202;
        byte[] out = answer == null ? new byte[0] : MAPPER.writeValueAsBytes(answer);
        exchange.sendResponseHeaders(status, out.length == 0 ? -1 : out.length);
        if (out.length > 0) exchange.getResponseBody().write(out);
        exchange.close();
    }

    public static void main(String[] args) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            try {
                handle(exchange);
            } catch (Exception e) {
                exchange.sendResponseHeaders(500, -1);
                exchange.close();
            }
        });
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
        System.out.println(server.getAddress().getPort());
        System.out.flush();
    }
}
