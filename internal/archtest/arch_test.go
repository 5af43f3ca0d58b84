// Package archtest holds architecture rules as tests: every package is
// placed in a subsystem, each subsystem may import only the subsystems it
// lists, each package only the openrec packages and third-party modules its
// allow-list names, and every package has a doc comment.
package archtest

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/openrec/openrec/"

// subsystems maps each top-level room of the tree to the rooms its packages
// may import (a room may always import itself). The wiring (app, config,
// cmd) sits on top and may import everything below it.
var subsystems = map[string][]string{
	"internal/media":    {},                                                   // the media path: pure cores and adapters
	"internal/sip":      {"internal/media"},                                   // signalling
	"internal/store":    {},                                                   // metadata store
	"internal/recorder": {"internal/media", "internal/sip", "internal/store"}, // sessions → recordings
	"internal/cti":      {"internal/recorder", "internal/store"},              // the contact-center side
	"internal/web":      {"internal/media", "internal/store"},                 // REST API, UI, auth
	"internal/sim":      {"internal/cti", "internal/media", "internal/sip"},
	"internal/load":     {"internal/media", "internal/sip"},
	"internal/config":   {"internal/cti"},
	"internal/testtool": {}, // what tests need from outside the module (tools on PATH)
	// passive recording: packets → SIP dialogs and RTP → the recorder's passive entry point
	"internal/capture": {"internal/media", "internal/sip", "internal/recorder"},
	"internal/app": {"internal/capture", "internal/config", "internal/cti", "internal/media", "internal/recorder",
		"internal/sip", "internal/store", "internal/web"},
	"cmd": {"internal/app", "internal/capture", "internal/config", "internal/cti", "internal/load", "internal/media",
		"internal/sim", "internal/sip", "internal/store", "internal/web"},
}

// rule is one package's allow-list: the openrec packages and the third-party
// import paths (a module path covers its sub-packages) it may import.
type rule struct {
	internal []string
	external []string
}

const (
	pgx        = "github.com/jackc/pgx/v5"
	sipgo      = "github.com/emiago/sipgo"
	pionRTCP   = "github.com/pion/rtcp"
	pionRTP    = "github.com/pion/rtp"
	pionSDP    = "github.com/pion/sdp/v3"
	pionSRTP   = "github.com/pion/srtp/v3"
	yamlV3     = "go.yaml.in/yaml/v3"
	awsSDK     = "github.com/aws/aws-sdk-go-v2"
	prometheus = "github.com/prometheus/client_golang"
	gopacket   = "github.com/gopacket/gopacket"
)

// allow places every package of the module. A new package fails the test
// until it is added here, with what it may import.
var allow = map[string]rule{
	// The media path.
	"internal/media":                  {},
	"internal/media/g711":             {},
	"internal/media/dtmf":             {},
	"internal/media/resample":         {},
	"internal/media/codec":            {internal: []string{"internal/media", "internal/media/resample"}, external: []string{"github.com/gotranspile/g722", "github.com/pion/opus"}},
	"internal/media/codec/spandspref": {}, // test reference only (cgo spandsp, build tag spandsp)
	"internal/media/audiotest":        {},
	"internal/media/live":             {},
	"internal/media/wav":              {internal: []string{"internal/media/g711"}},
	"internal/media/mediaconv":        {internal: []string{"internal/media/wav", "internal/media/g711"}},
	"internal/media/mixer":            {internal: []string{"internal/media", "internal/media/dtmf", "internal/media/g711", "internal/media/resample"}},
	"internal/media/rtpin":            {internal: []string{"internal/media"}, external: []string{pionRTCP, pionRTP, pionSRTP, "golang.org/x/sys"}},
	"internal/media/rawrecv":          {internal: []string{"internal/media", "internal/media/rtpin"}, external: []string{prometheus}},

	// Signalling.
	"internal/sip/siprec": {},
	"internal/sip/sdpoa":  {internal: []string{"internal/media"}, external: []string{pionSDP}},
	"internal/sip/sipsrv": {internal: []string{"internal/sip/sdpoa", "internal/sip/sipgoglobal", "internal/sip/siprec"}, external: []string{sipgo}},
	"internal/sip/dial": {internal: []string{"internal/sip/sipgoglobal", "internal/media", "internal/media/codec", "internal/media/g711", "internal/media/rtpin", "internal/media/wav"},
		external: []string{sipgo, pionRTCP, pionRTP, pionSDP, pionSRTP}},
	// The one write to sipgo's package settings (sipsrv and dial).
	"internal/sip/sipgoglobal": {external: []string{sipgo}},

	// Storage.
	"internal/store":           {},
	"internal/store/sqlite":    {internal: []string{"internal/store"}, external: []string{"modernc.org/sqlite"}},
	"internal/store/storetest": {internal: []string{"internal/store"}},
	// The shared store: the same model and semantics in PostgreSQL (pgx).
	"internal/store/postgres": {internal: []string{"internal/store"}, external: []string{pgx}},
	// The store by URL (sqlite:PATH, postgres://...) and the interface both implement.
	"internal/store/backend": {internal: []string{"internal/store", "internal/store/postgres", "internal/store/sqlite"}},
	// openrec store migrate: every table from one store to another, resumable.
	"internal/store/storecopy": {internal: []string{"internal/store", "internal/store/backend", "internal/store/postgres", "internal/store/sqlite"}, external: []string{pgx}},
	// The media layout: a recording's files, Locate, the atomic writer.
	"internal/store/mediastore": {internal: []string{"internal/store"}},
	"internal/store/seal":       {internal: []string{"internal/store", "internal/store/mediastore"}},
	"internal/store/expire":     {internal: []string{"internal/store", "internal/store/mediacrypt", "internal/store/mediastore"}},
	// Encryption at rest: age recipients/identities, chunked payload, WAV size synthesis.
	"internal/store/mediacrypt": {external: []string{"filippo.io/age", "golang.org/x/crypto"}},
	// Media in an S3 bucket: the client (ranged reads) and the uploader from the local spool.
	"internal/store/s3media": {internal: []string{"internal/store", "internal/store/mediastore"}, external: []string{awsSDK, "github.com/aws/smithy-go"}},

	// Sessions → recordings.
	"internal/recorder": {internal: []string{"internal/media", "internal/media/codec", "internal/media/live", "internal/media/mediaconv", "internal/media/mixer",
		"internal/media/rtpin", "internal/media/wav", "internal/sip/sdpoa", "internal/sip/siprec",
		"internal/sip/sipsrv", "internal/store", "internal/store/mediacrypt", "internal/store/mediastore"}},
	"internal/recorder/resources": {}, // admission and health: ports, disk watermarks, store, file descriptors
	// Decoding what a recording kept raw: replay through the mixer, the job queue.
	"internal/recorder/transcode": {internal: []string{"internal/media", "internal/media/codec", "internal/media/g711", "internal/media/mixer",
		"internal/media/wav", "internal/sip/sdpoa", "internal/store", "internal/store/mediacrypt", "internal/store/mediastore", "internal/store/seal"}},

	// The contact-center side: pure cores (tlib, dnfilter, rules, ccdata,
	// conversation), the link, configuration sources and the call core.
	"internal/cti/tlib":          {},
	"internal/cti/dnfilter":      {},
	"internal/cti/rules":         {external: []string{yamlV3}},
	"internal/cti/screen":        {},
	"internal/cti/ccdata":        {internal: []string{"internal/cti/dnfilter"}, external: []string{yamlV3}},
	"internal/cti/conversation":  {internal: []string{"internal/cti/tlib", "internal/cti/dnfilter", "internal/cti/ccdata"}},
	"internal/cti/link":          {internal: []string{"internal/cti/tlib"}},
	"internal/cti/ccdata/loader": {internal: []string{"internal/cti/ccdata"}},
	"internal/cti/callcore": {internal: []string{"internal/cti/conversation", "internal/cti/dnfilter",
		"internal/cti/tlib", "internal/cti/screen", "internal/recorder", "internal/store"}},

	// Web: the API declares what it needs as interfaces; app adapts.
	"internal/web":      {},
	"internal/web/auth": {external: []string{"golang.org/x/crypto"}},
	"internal/web/api": {internal: []string{"internal/media/live", "internal/media/mediaconv", "internal/store",
		"internal/web/auth", "internal/store/expire", "internal/store/mediacrypt", "internal/store/mediastore"}, external: []string{"github.com/coder/websocket"}},

	// Tools.
	"internal/sim": {internal: []string{"internal/cti/ccdata", "internal/cti/tlib", "internal/media/wav",
		"internal/sim/rm", "internal/sip/dial"}, external: []string{yamlV3}},
	"internal/sim/rm": {}, // the simulator's Resource Manager: load balancing and OPTIONS health of a recorder group
	"internal/load":   {internal: []string{"internal/media/g711", "internal/sip/dial"}, external: []string{sipgo}},

	// Passive recording (openrec capture): decoding, SIP dialogs + RTP
	// routing, the capture filter, the pipeline and its sources.
	"internal/capture/decode": {external: []string{gopacket}},
	"internal/capture/follow": {internal: []string{"internal/capture/decode", "internal/media", "internal/media/rtpin", "internal/sip/sdpoa", "internal/sip/siprec"},
		external: []string{pionRTP, pionSRTP}},
	"internal/capture/filter":      {internal: []string{"internal/capture/decode"}, external: []string{"golang.org/x/net"}},
	"internal/capture/capturetest": {internal: []string{"internal/media/audiotest", "internal/media/g711"}, external: []string{gopacket, pionRTP, pionSRTP}},
	"internal/capture": {internal: []string{"internal/capture/decode", "internal/capture/follow", "internal/media", "internal/recorder"},
		external: []string{gopacket, "golang.org/x/net"}},

	// Tests' helper: finds external tools (env, then PATH; CI=true fails).
	"internal/testtool":         {},
	"internal/testtool/testpki": {},
	"internal/testtool/pgtest":  {internal: []string{"internal/testtool"}, external: []string{pgx}}, // a test's own PostgreSQL database
	"internal/testtool/s3test":  {internal: []string{"internal/testtool"}},

	// Wiring.
	"internal/config": {internal: []string{"internal/cti/dnfilter", "internal/cti/rules"},
		external: []string{"github.com/spf13/pflag", yamlV3}},
	"internal/app": {internal: []string{"internal/capture", "internal/capture/follow", "internal/config", "internal/cti/callcore", "internal/cti/ccdata",
		"internal/cti/ccdata/loader", "internal/cti/conversation", "internal/cti/dnfilter", "internal/cti/link",
		"internal/cti/rules", "internal/cti/screen", "internal/cti/tlib", "internal/media", "internal/media/live", "internal/media/mediaconv", "internal/media/mixer",
		"internal/media/rtpin", "internal/media/wav", "internal/recorder", "internal/recorder/resources", "internal/recorder/transcode", "internal/sip/sipsrv",
		"internal/store", "internal/store/expire", "internal/store/mediacrypt", "internal/store/mediastore", "internal/store/s3media", "internal/store/seal", "internal/store/backend", "internal/store/sqlite", "internal/web", "internal/web/api"},
		external: []string{prometheus, yamlV3, "golang.org/x/sync"}},
	"internal/app/apptest": {internal: []string{"internal/app", "internal/config"}, external: []string{sipgo}},
	"cmd/openrec": {internal: []string{"internal/app", "internal/capture", "internal/capture/capturetest", "internal/capture/filter", "internal/config", "internal/cti/ccdata",
		"internal/cti/rules", "internal/load", "internal/media/dtmf", "internal/media/mediaconv", "internal/media/rawrecv", "internal/media/resample", "internal/media/wav", "internal/sim", "internal/sim/rm", "internal/sip/dial",
		"internal/store", "internal/store/expire", "internal/store/mediacrypt", "internal/store/mediastore", "internal/store/s3media", "internal/store/seal", "internal/store/backend", "internal/store/sqlite", "internal/store/storecopy", "internal/web/auth"},
		external: []string{"github.com/spf13/cobra", "github.com/spf13/pflag", "golang.org/x/net", yamlV3}},
}

// subsystemOf is the room a package lives in: its first path element under
// internal/ (or cmd).
func subsystemOf(pkg string) string {
	if pkg == "cmd" || strings.HasPrefix(pkg, "cmd/") {
		return "cmd"
	}
	parts := strings.SplitN(pkg, "/", 3)
	if len(parts) < 2 {
		return pkg
	}
	return parts[0] + "/" + parts[1]
}

// check returns the violations of one package's (non-test) imports.
func check(pkg string, imports []string) []string {
	r, placed := allow[pkg]
	if !placed {
		return []string{fmt.Sprintf("%s is not placed in the architecture: add it to archtest's allow list (and ARCHITECTURE.md)", pkg)}
	}
	sub := subsystemOf(pkg)
	rooms, known := subsystems[sub]
	if !known {
		return []string{fmt.Sprintf("%s is in %s, which is not a subsystem", pkg, sub)}
	}
	var out []string
	for _, imp := range imports {
		switch {
		case strings.HasPrefix(imp, module):
			rel := strings.TrimPrefix(imp, module)
			to := subsystemOf(rel)
			if to != sub && !slices.Contains(rooms, to) {
				out = append(out, fmt.Sprintf("%s imports %s: subsystem %s may not import %s (see ARCHITECTURE.md)", pkg, rel, sub, to))
				continue
			}
			if !slices.Contains(r.internal, rel) {
				out = append(out, fmt.Sprintf("%s imports %s: not in its allow list (see ARCHITECTURE.md)", pkg, rel))
			}
		case isStdlib(imp):
		default:
			if !slices.ContainsFunc(r.external, func(m string) bool { return imp == m || strings.HasPrefix(imp, m+"/") }) {
				out = append(out, fmt.Sprintf("%s imports third-party %s: not in its allow list", pkg, imp))
			}
		}
	}
	return out
}

// isStdlib reports whether an import path belongs to the standard library
// (no dot in its first element).
func isStdlib(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// packages lists every package directory under internal/ and cmd/, relative
// to the module root, with its non-test imports.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	base := root(t)
	out := map[string][]string{}
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(base, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				return nil
			}
			if d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			fset := token.NewFileSet()
			pkgs, err := parser.ParseDir(fset, path, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ImportsOnly)
			if err != nil {
				return fmt.Errorf("parse %s: %w", path, err)
			}
			if len(pkgs) == 0 {
				return nil
			}
			rel, _ := filepath.Rel(base, path)
			rel = filepath.ToSlash(rel)
			var imps []string
			for _, p := range pkgs {
				for _, f := range p.Files {
					for _, imp := range f.Imports {
						imps = append(imps, strings.Trim(imp.Path.Value, `"`))
					}
				}
			}
			out[rel] = imps
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestImportsFollowTheArchitecture(t *testing.T) {
	pkgs := packages(t)
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		for _, v := range check(p, pkgs[p]) {
			t.Error(v)
		}
	}
	for p := range allow {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("allow list names %s, which does not exist: remove or move it", p)
		}
	}
}

// The rules bite: each case is a violation the test must report.
func TestCheckReportsViolations(t *testing.T) {
	cases := []struct {
		name, pkg string
		imports   []string
		want      string
	}{
		{"new package not placed", "internal/media/opus", nil, "not placed"},
		{"core reaching up", "internal/sip/siprec", []string{module + "internal/recorder"}, "subsystem internal/sip may not import internal/recorder"},
		{"media importing sip", "internal/media/rtpin", []string{module + "internal/sip/sdpoa"}, "may not import internal/sip"},
		{"same room, not allowed", "internal/media/g711", []string{module + "internal/media/wav"}, "not in its allow list"},
		{"allowed room, package not listed", "internal/web/api", []string{module + "internal/media/rtpin"}, "not in its allow list"},
		{"third party not listed", "internal/cti/tlib", []string{"github.com/emiago/sipgo/sip"}, "third-party github.com/emiago/sipgo/sip"},
		{"module prefix is not a path prefix", "internal/sip/sdpoa", []string{"github.com/pion/sdp/v30"}, "third-party"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := check(c.pkg, c.imports)
			if len(got) != 1 || !strings.Contains(got[0], c.want) {
				t.Fatalf("check(%s, %v) = %q, want one violation containing %q", c.pkg, c.imports, got, c.want)
			}
		})
	}
	// And a package inside its allow list passes.
	if got := check("internal/sip/sdpoa", []string{"fmt", module + "internal/media", "github.com/pion/sdp/v3"}); len(got) != 0 {
		t.Fatalf("allowed imports reported: %q", got)
	}
}

// Every allow-list entry stays inside its subsystem's rooms, so the two
// levels cannot disagree.
func TestAllowListWithinSubsystems(t *testing.T) {
	for pkg, r := range allow {
		sub := subsystemOf(pkg)
		rooms, ok := subsystems[sub]
		if !ok {
			t.Errorf("%s: subsystem %s not declared", pkg, sub)
			continue
		}
		for _, imp := range r.internal {
			if to := subsystemOf(imp); to != sub && !slices.Contains(rooms, to) {
				t.Errorf("%s allows %s, but %s may not import %s", pkg, imp, sub, to)
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

// ARCHITECTURE.md's package map (the first code block after "## Packages")
// names every package, and only packages that exist.
func TestArchitectureMapMatchesTree(t *testing.T) {
	base := root(t)
	doc, err := os.ReadFile(filepath.Join(base, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i := strings.Index(text, "## Packages")
	if i < 0 {
		t.Fatal(`ARCHITECTURE.md has no "## Packages" section`)
	}
	text = text[i:]
	start := strings.Index(text, "```\n")
	end := strings.Index(text[start+4:], "```")
	if start < 0 || end < 0 {
		t.Fatal("no code block in the Packages section")
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(text[start+4:start+4+end], "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasSuffix(f[0], "/") || strings.HasPrefix(f[0], "-") {
			continue
		}
		name := f[0]
		indented := strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") // "  room/pkg"; deeper = a continuation
		switch {
		case strings.HasPrefix(name, "internal/") || strings.HasPrefix(name, "cmd/"):
		case indented:
			name = "internal/" + name
		default:
			continue // a continuation line
		}
		listed[name] = true
	}
	pkgs := packages(t)
	for p := range pkgs {
		if !listed[p] {
			t.Errorf("package %s is not in ARCHITECTURE.md's package map", p)
		}
	}
	for p := range listed {
		if _, ok := pkgs[p]; ok {
			continue
		}
		if fi, err := os.Stat(filepath.Join(base, p)); err != nil || !fi.IsDir() {
			t.Errorf("ARCHITECTURE.md lists %s, which does not exist", p)
		}
	}
}
