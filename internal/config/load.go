package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Load builds the configuration: defaults, then the file named by --config
// (if any), then the flags the user set explicitly.
func Load(fs *pflag.FlagSet) (Serve, error) {
	cfg := Defaults()
	path, _ := fs.GetString("config")
	if path != "" {
		if err := decodeFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	var ferr error
	fs.VisitAll(func(f *pflag.Flag) {
		key, ok := flagKeys[f.Name]
		if !ok || !f.Changed || ferr != nil {
			return
		}
		if err := setKey(&cfg, key, f.Value.String()); err != nil {
			ferr = fmt.Errorf("config: --%s: %w", f.Name, err)
		}
	})
	if ferr != nil {
		return cfg, ferr
	}
	if f := fs.Lookup("encrypt-to"); f != nil && f.Changed && f.Value.String() != "" {
		cfg.Encryption.Enabled = true // --encrypt-to turns encryption on
	}
	cfg.Path = path
	return cfg, cfg.Validate()
}

// decodeFile reads the YAML file at path over cfg: every key must name a
// field (the error gives the line and the dotted key).
func decodeFile(path string, cfg *Serve) error {
	data, err := readFile(path)
	if err != nil {
		return fmt.Errorf("config: read %s: %w", path, err)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file
		}
		return fmt.Errorf("config: read %s: %w", path, err)
	}
	// A second document would be silently ignored: refuse one that holds
	// anything (a trailing --- alone is harmless).
	for {
		var more yaml.Node
		err := dec.Decode(&more)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("config: read %s: %w", path, err)
		}
		if len(more.Content) > 0 && more.Content[0].Tag != "!!null" {
			return fmt.Errorf("config: %s: line %d: a second YAML document (---): put every setting in one", path, max(more.Line, 1))
		}
	}
	keys := map[int]string{}
	if err := (&keyChecker{keys: keys, seen: map[checked]bool{}}).check(&doc, reflect.TypeOf(*cfg), ""); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	if err := doc.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return fmt.Errorf("config: %s: %s", path, nameKeys(te.Errors, keys))
		}
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// maxFileBytes bounds the configuration file: a path given by mistake
// (a log file, /dev/zero) must give an error, not exhaust memory.
var maxFileBytes int64 = 32 << 20

// readFile reads the file at path, at most maxFileBytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxFileBytes {
		return nil, fmt.Errorf("larger than %d MiB: not a configuration file", maxFileBytes>>20)
	}
	return data, nil
}

// nameKeys prefixes yaml's "line N: ..." messages with the key of line N.
func nameKeys(msgs []string, keys map[int]string) string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m
		var line int
		if _, err := fmt.Sscanf(m, "line %d:", &line); err == nil && keys[line] != "" {
			out[i] = keys[line] + ": " + m
		}
	}
	return strings.Join(out, "; ")
}

// keyChecker reports the first mapping key that is no field of the
// struct it is decoded into: what yaml's KnownFields does, with the dotted
// key named. Aliases and merge keys (<<) are followed, each node once per
// type (an alias may point at its own ancestor, and aliases of aliases
// would otherwise be walked exponentially often).
type keyChecker struct {
	keys map[int]string // the dotted key of each line holding a value
	seen map[checked]bool
}

type checked struct {
	n *yaml.Node
	t reflect.Type
}

func (kc *keyChecker) check(n *yaml.Node, t reflect.Type, prefix string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil || kc.seen[checked{n, t}] {
		return nil
	}
	kc.seen[checked{n, t}] = true
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return kc.check(n.Content[0], t, prefix)
	case yaml.AliasNode:
		return kc.check(n.Alias, t, prefix)
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return nil // the decoder reports the type error
		}
		for _, c := range n.Content {
			if err := kc.check(c, t.Elem(), prefix); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		switch t.Kind() {
		case reflect.Map:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if isMerge(k) {
					if err := kc.merge(v, t, prefix); err != nil {
						return err
					}
					continue
				}
				kc.keys[v.Line] = prefix + k.Value
				if err := kc.check(v, t.Elem(), prefix+k.Value+"."); err != nil {
					return err
				}
			}
		case reflect.Struct:
			fields := yamlFields(t)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if isMerge(k) {
					if err := kc.merge(v, t, prefix); err != nil {
						return err
					}
					continue
				}
				ft, ok := fields[k.Value]
				if !ok {
					return fmt.Errorf("line %d: unknown key %q", k.Line, prefix+k.Value)
				}
				kc.keys[v.Line] = prefix + k.Value
				if err := kc.check(v, ft, prefix+k.Value+"."); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// merge checks the value of a merge key (<<: a mapping, an alias of one,
// or a sequence of them) as part of the mapping that holds it.
func (kc *keyChecker) merge(v *yaml.Node, t reflect.Type, prefix string) error {
	for v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			if err := kc.merge(c, t, prefix); err != nil {
				return err
			}
		}
		return nil
	}
	return kc.check(v, t, prefix)
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "!!merge" || k.Tag == "")
}

// yamlFields maps the yaml keys of struct t to their types (inline
// structs flattened).
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// setKey sets the field a dotted yaml key names from a flag's text.
func setKey(cfg *Serve, key, text string) error {
	v := reflect.ValueOf(cfg).Elem()
	for part := range strings.SplitSeq(key, ".") {
		if v.Kind() != reflect.Struct {
			return fmt.Errorf("key %q: not a section", key)
		}
		f, ok := fieldByYAML(v, part)
		if !ok {
			return fmt.Errorf("key %q: no such setting", key)
		}
		v = f
	}
	switch {
	case v.Type() == reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("%q: want a duration like 30s or 5m", text)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(text)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("%q: want true or false", text)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(text, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q: want a whole number", text)
		}
		v.SetInt(n)
	default:
		return fmt.Errorf("key %q: a %s cannot be set by a flag", key, v.Type())
	}
	return nil
}

func fieldByYAML(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}
