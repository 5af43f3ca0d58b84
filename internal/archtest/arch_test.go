// Package archtest holds architecture rules as tests: the direction of
// imports between openrec's packages and a doc comment on every package.
package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/openrec/openrec/"

// forbidden lists, per package, the openrec packages it must not import.
// Pure cores import only the standard library, pion and lower cores;
// adapters never reach up into orchestration, wiring or commands.
var forbidden = map[string][]string{
	"internal/g711":     {"internal/"},
	"internal/media":    {"internal/"},
	"internal/wav":      {"internal/recorder", "internal/app", "internal/sipsrv", "internal/rtpin", "internal/store", "internal/mixer", "internal/config"},
	"internal/sdpoa":    {"internal/recorder", "internal/app", "internal/sipsrv", "internal/rtpin", "internal/store", "internal/mixer", "internal/wav", "internal/siprec"},
	"internal/siprec":   {"internal/"},
	"internal/mixer":    {"internal/recorder", "internal/app", "internal/sipsrv", "internal/rtpin", "internal/store", "internal/wav", "internal/config", "internal/live"},
	"internal/live":     {"internal/"},
	"internal/rtpin":    {"internal/recorder", "internal/app", "internal/sipsrv", "internal/mixer", "internal/store", "internal/wav", "internal/config"},
	"internal/store":    {"internal/recorder", "internal/app", "internal/sipsrv", "internal/rtpin", "internal/mixer", "internal/config", "internal/dial", "internal/auth"},
	"internal/sipsrv":   {"internal/recorder", "internal/app", "internal/rtpin", "internal/mixer", "internal/store", "internal/config"},
	"internal/dial":     {"internal/recorder", "internal/app", "internal/sipsrv", "internal/rtpin", "internal/mixer", "internal/store", "internal/config"},
	"internal/recorder": {"internal/app", "internal/config", "internal/dial", "internal/callcore", "internal/cti", "internal/conversation", "internal/ctisim"},
	"internal/tlib":     {"internal/"},
	"internal/dnfilter": {"internal/"},
	"internal/rules":    {"internal/"},
	"internal/auth":     {"internal/"},
	// The API declares what it needs as interfaces; internal/app adapts the
	// recorder and the CTI bridge to them.
	"internal/api": {"internal/app", "internal/config", "internal/recorder", "internal/callcore", "internal/cti", "internal/ctisim",
		"internal/conversation", "internal/sipsrv", "internal/rtpin", "internal/mixer", "internal/dial", "internal/store/sqlite", "internal/web"},
	"internal/web":          {"internal/"},
	"internal/cfgsource":    {"internal/recorder", "internal/app", "internal/config", "internal/cti", "internal/conversation", "internal/callcore", "internal/store"},
	"internal/cfgcache":     {"internal/"},
	"internal/conversation": {"internal/"},
	"internal/cti":          {"internal/"},
	"internal/ctisim":       {"internal/recorder", "internal/app", "internal/sipsrv", "internal/rtpin", "internal/mixer", "internal/store", "internal/config", "internal/cti", "internal/conversation", "internal/callcore"},
	"internal/load":         {"internal/recorder", "internal/app", "internal/sipsrv", "internal/rtpin", "internal/mixer", "internal/store", "internal/config", "internal/callcore", "internal/cti", "internal/ctisim"},
	"internal/mediaconv":    {"internal/"},
	"internal/callcore":     {"internal/app", "internal/config", "internal/sipsrv", "internal/rtpin", "internal/mixer", "internal/ctisim", "internal/dial"},
	"internal/rawrecv":      {"internal/recorder", "internal/app", "internal/sipsrv", "internal/mixer", "internal/store", "internal/config", "internal/dial", "internal/load"},
}

// allowedInCore lists openrec packages a pure core may still import.
var allowedInCore = map[string][]string{
	"internal/siprec":       {},
	"internal/wav":          {"internal/g711"},
	"internal/mixer":        {"internal/g711", "internal/media"},
	"internal/sdpoa":        {"internal/media"},
	"internal/cfgcache":     {"internal/dnfilter"},
	"internal/conversation": {"internal/tlib", "internal/dnfilter", "internal/cfgcache"},
	"internal/cti":          {"internal/tlib"},
	"internal/rules":        {},
	"internal/mediaconv":    {"internal/wav", "internal/g711"}, // an adapter (files, lame) on the media cores only
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestImportDirection(t *testing.T) {
	base := root(t)
	for pkg, bad := range forbidden {
		imports := importsOf(t, filepath.Join(base, pkg))
		for _, imp := range imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			rel := strings.TrimPrefix(imp, module)
			if contains(allowedInCore[pkg], rel) {
				continue
			}
			for _, b := range bad {
				if rel == b || strings.HasPrefix(rel, b) && (strings.HasSuffix(b, "/") || strings.HasPrefix(rel, b+"/")) {
					t.Errorf("%s imports %s: forbidden by the architecture (see ARCHITECTURE.md)", pkg, rel)
				}
			}
		}
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	base := root(t)
	for _, top := range []string{"internal", "cmd"} {
		_ = filepath.WalkDir(filepath.Join(base, top), func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() || d.Name() == "testdata" {
				if d != nil && d.IsDir() && d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			fset := token.NewFileSet()
			pkgs, err := parser.ParseDir(fset, path, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil || len(pkgs) == 0 {
				return nil
			}
			for name, p := range pkgs {
				documented := false
				for _, f := range p.Files {
					if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
						documented = true
					}
				}
				if !documented {
					rel, _ := filepath.Rel(base, path)
					t.Errorf("package %s (%s) has no doc comment", name, rel)
				}
			}
			return nil
		})
	}
}

func importsOf(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ImportsOnly)
	if err != nil {
		t.Fatalf("parse %s: %v", dir, err)
	}
	var out []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, imp := range f.Imports {
				out = append(out, strings.Trim(imp.Path.Value, `"`))
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
