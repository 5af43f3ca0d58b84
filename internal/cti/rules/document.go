package rules

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrNotEditable: the rules came from no configuration file (serve without
// --config), so there is nowhere to save new ones.
var ErrNotEditable = errors.New("rules: this server was started without a configuration file (serve --config FILE): there is nowhere to save rules")

// Document is the `rules:` key of a configuration file as an editor shows
// it: its YAML text, where it is kept and what it compiles to.
type Document struct {
	YAML     string // the value of the `rules:` key, as YAML
	Path     string // the configuration file ("" = none: not editable)
	Groups   int
	Rules    int
	Warnings []string
}

// Editable reports whether the document can be saved.
func (d Document) Editable() bool { return d.Path != "" }

// ParseText reads the YAML text of a `rules:` value strictly (unknown keys
// are errors) and compiles it. Every error matches ErrInvalid. The value
// node is what Save takes.
func ParseText(text string) (Config, *yaml.Node, *Set, error) {
	var c Config
	value := &yaml.Node{}
	if strings.TrimSpace(text) != "" {
		dec := yaml.NewDecoder(strings.NewReader(text))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return c, nil, nil, wrapInvalid("rules", err)
		}
		if err := yaml.Unmarshal([]byte(text), value); err != nil {
			return c, nil, nil, wrapInvalid("rules", err)
		}
	}
	set, err := Compile(c)
	if err != nil {
		return c, nil, nil, err
	}
	return c, value, set, nil
}

// Check compiles text as SaveText would and saves nothing (an editor's
// Validate button).
func (h *Holder) Check(text string) (Document, error) {
	c, _, set, err := ParseText(text)
	if err != nil {
		return Document{}, err
	}
	return Document{YAML: text, Path: h.path, Groups: len(c.Groups), Rules: set.Len(), Warnings: set.Warnings()}, nil
}

// SaveText parses text (ErrInvalid when it does not compile), saves it as
// the `rules:` key of the configuration file and puts it in force (see
// Save; a file that would not load with it is ErrInvalid too), and returns
// the document now in force.
func (h *Holder) SaveText(text string) (Document, error) {
	if h.path == "" {
		return Document{}, ErrNotEditable
	}
	_, value, _, err := ParseText(text)
	if err != nil {
		return Document{}, err
	}
	if err := h.Save(value); err != nil {
		var rej *RejectedError
		if errors.As(err, &rej) {
			return Document{}, wrapInvalid("rules", rej.Err)
		}
		return Document{}, err
	}
	return h.Document()
}

// Document returns the rules in force with the YAML text of the
// configuration file's `rules:` key (none without a file).
func (h *Holder) Document() (Document, error) {
	set := h.Set()
	doc := Document{Path: h.path, Rules: set.Len(), Warnings: set.Warnings()}
	if h.path == "" {
		return doc, nil
	}
	data, err := os.ReadFile(h.path)
	if err != nil {
		return doc, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return doc, fmt.Errorf("%s: %w", h.path, err)
	}
	n := mappingValue(&root, "rules")
	if n == nil {
		return doc, nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return doc, err
	}
	doc.YAML = buf.String()
	var c Config
	if err := n.Decode(&c); err == nil {
		doc.Groups = len(c.Groups)
	}
	return doc, nil
}

// mappingValue returns the value of key in the top-level mapping of a
// document node, or nil.
func mappingValue(doc *yaml.Node, key string) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
