# openrec — developer targets. `make test` is the README's test command.
GO ?= go

.PHONY: test check vet lint fuzz bench bench-capacity build demo deadcode soak

build:
	$(GO) build ./...

# Two steps: the zero-allocation tests, which are built without the race
# detector (it allocates), then everything under the race detector. One
# package at a time (-p 1): the end-to-end tests of app, cmd and dial
# measure audio timing over real sockets, and two of them sharing the two
# cores of the project's machines skews each other's packet pacing.
test:
	$(GO) test -count=1 -timeout 5m -run 'Alloc' ./...
	$(GO) test -race -p 1 -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...

lint:
	golangci-lint run ./...

check: vet test
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

# Short fuzz runs of every parser (10 s each).
fuzz:
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' internal | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    $(GO) test ./$$t -run '^$$' -fuzz "^$$f$$" -fuzztime 10s || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

# One-core capacity: recorder vs raw reader, zero-loss ceiling, CPU/RSS per
# call, setup rate, hang-up → searchable (BENCHMARKS.md, "How to run").
# Needs root for RPS and sysctls; BENCH_ARGS=--quick for a 2-minute smoke run.
bench-capacity:
	scripts/bench-capacity.sh $(BENCH_ARGS)

# The same as `go run ./cmd/openrec demo`, with the signals reaching the
# demo: the recipe's shell is replaced by the binary (exec), so Ctrl-C and
# a SIGTERM sent to make (which passes it on to its children) stop it
# cleanly. DEMO_ARGS passes flags, e.g. DEMO_ARGS=--duration=5m.
demo:
	$(GO) build -o openrec ./cmd/openrec && exec ./openrec demo $(DEMO_ARGS)

# Unreachable code (prints nothing when there is none).
deadcode:
	$(GO) run golang.org/x/tools/cmd/deadcode@v0.52.0 -test ./...

# Soak: good calls beside hostile SIP traffic (BENCHMARKS.md); SOAK_ARGS="600 200".
soak:
	scripts/soak.sh $(SOAK_ARGS)
