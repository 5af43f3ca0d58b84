package siprec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// node is one element of a tolerant DOM built from xml.Decoder.RawToken, which
// keeps the prefixes as written (Name.Space is the prefix) so extension keys
// can read "apkt:ucid"; namespaces are resolved here.
type node struct {
	prefix, local string
	space         string            // resolved namespace URI ("" when none)
	ns            map[string]string // prefixes declared on this element ("" = default)
	attrs         []xml.Attr        // non-xmlns attributes, Name.Space = prefix
	children      []*node
	text          strings.Builder
}

const (
	maxDepth    = 64      // deeper elements are dropped
	maxElements = 100_000 // a metadata document has tens of elements
)

// parseTree builds the tree strictly; if the document is not well-formed it
// also tries the non-strict decoder and keeps whichever salvaged more. The
// error describes the first defect.
func parseTree(raw []byte) (*node, []string, error) {
	root, probs, n, err := buildTree(raw, true)
	if err == nil {
		return root, probs, nil
	}
	if root2, probs2, n2, err2 := buildTree(raw, false); n2 > n {
		if err2 == nil {
			err2 = err
		}
		return root2, probs2, err2
	}
	return root, probs, err
}

func buildTree(raw []byte, strict bool) (root *node, problems []string, count int, err error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = strict
	if !strict {
		dec.Entity = xml.HTMLEntity
	}
	dec.CharsetReader = charsetReader
	var stack []*node
	var firstErr error
	fail := func(e error) {
		if firstErr == nil {
			firstErr = e
		}
	}
	for {
		tok, terr := dec.RawToken()
		if terr == io.EOF {
			break
		}
		if terr != nil {
			fail(terr)
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxElements {
				fail(fmt.Errorf("more than %d elements", maxElements))
				return root, problems, count, firstErr
			}
			n := &node{prefix: t.Name.Space, local: t.Name.Local}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					if n.ns == nil {
						n.ns = map[string]string{}
					}
					n.ns[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					if n.ns == nil {
						n.ns = map[string]string{}
					}
					n.ns[""] = a.Value
				default:
					n.attrs = append(n.attrs, a)
				}
			}
			stack = append(stack, n)
			n.space = resolve(stack, n.prefix)
			switch {
			case len(stack) == 1 && root == nil:
				root = n
			case len(stack) == 1:
				problems = append(problems, fmt.Sprintf("element <%s> after the root element ignored", qname(n.prefix, n.local)))
			case len(stack) <= maxDepth:
				parent := stack[len(stack)-2]
				parent.children = append(parent.children, n)
			case len(stack) == maxDepth+1:
				problems = append(problems, fmt.Sprintf("elements nested deeper than %d ignored", maxDepth))
			}
		case xml.EndElement:
			i := len(stack) - 1
			for ; i >= 0; i-- {
				if stack[i].prefix == t.Name.Space && stack[i].local == t.Name.Local {
					break
				}
			}
			if i < 0 {
				fail(fmt.Errorf("unexpected end element </%s>", qname(t.Name.Space, t.Name.Local)))
				continue
			}
			if i != len(stack)-1 {
				top := stack[len(stack)-1]
				fail(fmt.Errorf("element <%s> closed by </%s>", qname(top.prefix, top.local), qname(t.Name.Space, t.Name.Local)))
			}
			stack = stack[:i]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		fail(fmt.Errorf("unexpected end of document inside <%s>", qname(top.prefix, top.local)))
	}
	if root == nil {
		fail(errors.New("no root element"))
	}
	return root, problems, count, firstErr
}

// resolve finds the namespace URI bound to prefix in the open elements.
func resolve(stack []*node, prefix string) string {
	switch prefix {
	case "xml":
		return "http://www.w3.org/XML/1998/namespace"
	}
	for i := len(stack) - 1; i >= 0; i-- {
		if uri, ok := stack[i].ns[prefix]; ok {
			return uri
		}
	}
	return ""
}

func qname(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

// name is the lower-cased local name used to match RFC 7865 elements.
func (n *node) name() string { return strings.ToLower(n.local) }

// value is the element's trimmed text.
func (n *node) value() string { return strings.TrimSpace(n.text.String()) }

// attr returns the first attribute whose local name matches one of names
// (case-insensitive), preferring unprefixed attributes.
func (n *node) attr(names ...string) string {
	for _, want := range names {
		for _, a := range n.attrs {
			if a.Name.Space == "" && strings.EqualFold(a.Name.Local, want) {
				return strings.TrimSpace(a.Value)
			}
		}
	}
	for _, want := range names {
		for _, a := range n.attrs {
			if a.Name.Space != "xml" && strings.EqualFold(a.Name.Local, want) {
				return strings.TrimSpace(a.Value)
			}
		}
	}
	return ""
}

// charsetReader accepts the single-byte encodings SRCs declare besides UTF-8.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1", "windows-1252", "cp1252":
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b)+len(b)/8)
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", charset)
}
