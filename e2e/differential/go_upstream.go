// The Go reader of the differential suite: an MCP-ish JSON-RPC server on net/http that
// executes (records) what it parsed, reading requests the way Go MCP servers did before
// go-sdk 1.3.1 (CVE-2026-27896):
//
//   - encoding/json into structs with `json:"method"`, `json:"params"`, `json:"name"`,
//     `json:"uri"` tags: keys match fields case-insensitively, the last match wins, and `ſ`
//     (U+017F) folds to `s`, `K` (U+212A, Kelvin) to `k`; json.NewDecoder reads the first
//     value and ignores what follows it;
//   - a sloppy handler that decodes a JSON body whatever the HTTP method, and inflates a
//     gzip request body (as request-decompressing middleware does);
//   - tools and prompts looked up with strings.EqualFold(strings.TrimSpace(name), known);
//   - headers through r.Header.Get (canonical names, the first value);
//   - the routed path is path.Clean(r.URL.Path), r.URL.Path being already percent-decoded;
//   - a resource URI resolved with url.Parse and path.Clean of its (decoded) path.
//
// It listens on 127.0.0.1:0, prints its port, and serves what it recorded at GET /__records.
// Standard library only: `go build -o OUT go_upstream.go`.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
)

type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type nameParams struct {
	Name string `json:"name"`
}

type uriParams struct {
	URI string `json:"uri"`
}

type completeParams struct {
	Ref struct {
		Type string `json:"type"`
		Name string `json:"name"`
		URI  string `json:"uri"`
	} `json:"ref"`
}

type executed struct {
	Kind     string  `json:"kind"`
	Name     string  `json:"name"`
	Resolved *string `json:"resolved"`
}

type identity struct {
	Subject  *string `json:"subject"`
	ClientID *string `json:"client_id"`
	Scopes   *string `json:"scopes"`
	Issuer   *string `json:"issuer"`
}

type record struct {
	Case       *string           `json:"case"`
	MethodSeen string            `json:"method_seen"`
	PathSeen   string            `json:"path_seen"`
	RawTarget  string            `json:"raw_target"`
	Executed   []executed        `json:"executed"`
	Identity   identity          `json:"identity"`
	Session    *string           `json:"session"`
	Forwarded  map[string]string `json:"forwarded"`
}

type server struct {
	mu       sync.Mutex
	records  []record
	sessions map[string]identity
	next     int
}

// Headers by which a proxy in front tells about the request, besides Forwarded and X-Forwarded*.
var claimsHeaders = map[string]bool{"x-real-ip": true, "x-original-url": true, "x-rewrite-url": true,
	"x-client-ip": true, "true-client-ip": true, "cf-connecting-ip": true, "x-cluster-client-ip": true,
	"x-host": true}

var tools = []string{"whoami", "echo", "admin_report", "kill_switch"}
var prompts = []string{"hello", "secret_prompt"}

// The methods it serves, matched exactly.
var methods = []string{"initialize", "ping", "tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list", "resources/read", "logging/setLevel", "completion/complete"}

func lookup(known []string, name string) *string {
	for _, candidate := range known {
		if strings.EqualFold(strings.TrimSpace(name), candidate) {
			found := candidate
			return &found
		}
	}
	return nil
}

func served(method string) *string {
	for _, candidate := range methods {
		if method == candidate {
			found := candidate
			return &found
		}
	}
	return nil
}

func header(r *http.Request, name string) *string {
	if len(r.Header.Values(name)) == 0 {
		return nil
	}
	value := r.Header.Get(name)
	return &value
}

func resolve(uri string) *string {
	parsed, err := url.Parse(uri)
	if err != nil || parsed.Scheme != "file" {
		return nil
	}
	resolved := path.Clean("/" + parsed.Path)
	return &resolved
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/__records" && r.Method == http.MethodGet {
		s.mu.Lock()
		body, _ := json.Marshal(map[string]interface{}{"records": s.records, "sessions": s.sessions})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
		return
	}
	rec := record{
		Case:       header(r, "X-Case"),
		MethodSeen: r.Method,
		PathSeen:   path.Clean(r.URL.Path),
		RawTarget:  r.RequestURI,
		Executed:   []executed{},
		Identity: identity{
			Subject:  header(r, "X-MCP-Auth-Subject"),
			ClientID: header(r, "X-MCP-Auth-Client-Id"),
			Scopes:   header(r, "X-MCP-Auth-Scopes"),
			Issuer:   header(r, "X-MCP-Auth-Issuer"),
		},
		Session:   header(r, "Mcp-Session-Id"),
		Forwarded: map[string]string{},
	}
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		switch {
		case strings.HasPrefix(lower, "x-forwarded"), lower == "forwarded", claimsHeaders[lower]:
			rec.Forwarded[lower] = strings.Join(values, ", ")
		}
	}
	status, answer, newSession := s.handle(r, &rec)
	s.mu.Lock()
	s.records = append(s.records, rec)
	s.mu.Unlock()
	if newSession != "" {
		w.Header().Set("Mcp-Session-Id", newSession)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(answer)
}

func (s *server) handle(r *http.Request, rec *record) (int, []byte, string) {
	if rec.Session != nil && *rec.Session != "" {
		s.mu.Lock()
		_, known := s.sessions[*rec.Session]
		s.mu.Unlock()
		if !known {
			return http.StatusNotFound, []byte(`{"error":"unknown session"}`), ""
		}
	}
	var body io.Reader = r.Body
	if strings.Contains(strings.ToLower(r.Header.Get("Content-Encoding")), "gzip") {
		inflated, err := gzip.NewReader(r.Body)
		if err != nil {
			return http.StatusBadRequest, []byte(`{"error":"bad gzip"}`), ""
		}
		body = inflated
	}
	var raw json.RawMessage
	if err := json.NewDecoder(body).Decode(&raw); err != nil {
		return http.StatusOK, []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`), ""
	}
	var messages []json.RawMessage
	batch := bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("["))
	if batch {
		if err := json.Unmarshal(raw, &messages); err != nil {
			return http.StatusOK, []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"bad batch"}}`), ""
		}
	} else {
		messages = []json.RawMessage{raw}
	}
	var answers []interface{}
	newSession := ""
	for _, one := range messages {
		var m message
		if err := json.Unmarshal(one, &m); err != nil || m.Method == "" {
			continue
		}
		rec.Executed = append(rec.Executed, executed{Kind: "method", Name: m.Method, Resolved: served(m.Method)})
		result := map[string]interface{}{}
		switch m.Method {
		case "initialize":
			s.mu.Lock()
			s.next++
			newSession = fmt.Sprintf("go-session-%d", s.next)
			s.sessions[newSession] = rec.Identity
			s.mu.Unlock()
			result["protocolVersion"] = "2025-06-18"
		case "tools/call":
			var p nameParams
			json.Unmarshal(m.Params, &p)
			if tool := lookup(tools, p.Name); tool != nil {
				rec.Executed = append(rec.Executed, executed{Kind: "tool", Name: p.Name, Resolved: tool})
				result["content"] = []interface{}{map[string]string{"type": "text", "text": "ran " + *tool}}
			}
		case "prompts/get":
			var p nameParams
			json.Unmarshal(m.Params, &p)
			if prompt := lookup(prompts, p.Name); prompt != nil {
				rec.Executed = append(rec.Executed, executed{Kind: "prompt", Name: p.Name, Resolved: prompt})
			}
		case "completion/complete":
			var p completeParams
			json.Unmarshal(m.Params, &p)
			switch p.Ref.Type {
			case "ref/prompt":
				if prompt := lookup(prompts, p.Ref.Name); prompt != nil {
					rec.Executed = append(rec.Executed, executed{Kind: "prompt", Name: p.Ref.Name, Resolved: prompt})
				}
			case "ref/resource":
				rec.Executed = append(rec.Executed, executed{Kind: "resource", Name: p.Ref.URI, Resolved: resolve(p.Ref.URI)})
			}
		case "resources/read":
			var p uriParams
			json.Unmarshal(m.Params, &p)
			rec.Executed = append(rec.Executed, executed{Kind: "resource", Name: p.URI, Resolved: resolve(p.URI)})
		}
		if len(m.ID) > 0 {
			answers = append(answers, map[string]interface{}{"jsonrpc": "2.0", "id": m.ID, "result": result})
		}
	}
	var answer []byte
	switch {
	case batch:
		answer, _ = json.Marshal(answers)
	case len(answers) == 1:
		answer, _ = json.Marshal(answers[0])
	default:
		return http.StatusAccepted, nil, newSession
	}
	return http.StatusOK, answer, newSession
}

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	s := &server{sessions: map[string]identity{}}
	if err := (&http.Server{Handler: s}).Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
