package siprec

import (
	"sort"
	"strconv"
	"strings"
)

// flatten adds the values of extension element n under path to dst (created
// when nil) following the key rules in the package doc, and returns dst.
func flatten(dst map[string]string, path string, n *node) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	if n.name() == "extensiondata" { // Acme wrapper: transparent
		for _, c := range n.children {
			dst = flatten(dst, path, c)
		}
		return dst
	}
	seg := qname(n.prefix, n.local)
	keyAttr := ""
	for _, a := range n.attrs {
		if a.Name.Space == "" && (a.Name.Local == "label" || a.Name.Local == "name") {
			seg += "[" + a.Value + "]"
			keyAttr = a.Name.Local
			break
		}
	}
	if path != "" {
		seg = path + "/" + seg
	}
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == keyAttr || a.Name.Space == "xml" {
			continue
		}
		put(dst, seg+"@"+qname(a.Name.Space, a.Name.Local), strings.TrimSpace(a.Value))
	}
	if v := n.value(); v != "" || len(n.children) == 0 {
		put(dst, seg, v)
	}
	for _, c := range n.children {
		dst = flatten(dst, seg, c)
	}
	return dst
}

// put stores v at key, or at key#2, key#3 ... when key is taken.
func put(dst map[string]string, key, v string) {
	if _, taken := dst[key]; !taken {
		dst[key] = v
		return
	}
	for i := 2; ; i++ {
		k := key + "#" + strconv.Itoa(i)
		if _, taken := dst[k]; !taken {
			dst[k] = v
			return
		}
	}
}

// callUUIDNames are the (lower-cased) extension names that carry the Genesys
// CallUUID: SIP header copies (X-Genesys-CallUUID), AudioCodes GenesysUUID ...
var callUUIDNames = map[string]bool{
	"x-genesys-calluuid": true,
	"genesysuuid":        true,
	"genesys-calluuid":   true,
	"genesyscalluuid":    true,
	"calluuid":           true,
}

// CallUUID returns the Genesys CallUUID found in the extensions (of the
// recording, sessions, groups, then participants), or "".
func (m *Metadata) CallUUID() string {
	if m == nil {
		return ""
	}
	maps := []map[string]string{m.Extensions}
	for _, s := range m.Sessions {
		maps = append(maps, s.Extensions)
	}
	for _, g := range m.Groups {
		maps = append(maps, g.Extensions)
	}
	for _, p := range m.Participants {
		maps = append(maps, p.Extensions)
	}
	for _, ext := range maps {
		if v := findCallUUID(ext); v != "" {
			return v
		}
	}
	return ""
}

func findCallUUID(ext map[string]string) string {
	keys := make([]string, 0, len(ext))
	for k := range ext {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if ext[k] == "" || strings.Contains(k, "@") {
			continue
		}
		for _, seg := range strings.Split(k, "/") {
			seg, _, _ = strings.Cut(seg, "#")
			name, bracket, _ := strings.Cut(seg, "[")
			bracket = strings.TrimSuffix(bracket, "]")
			if i := strings.LastIndexByte(name, ':'); i >= 0 {
				name = name[i+1:]
			}
			if callUUIDNames[strings.ToLower(name)] || callUUIDNames[strings.ToLower(bracket)] {
				return strings.TrimSpace(ext[k])
			}
		}
	}
	return ""
}
