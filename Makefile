# p2pcore — build, test, fuzz, benchmark.
GO        ?= go
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
COUNT     ?= 6

# Every fuzz target, as package:Target.
FUZZ_TARGETS := \
	./store:FuzzActions ./fuzzsteps:FuzzNoReadyWithoutHandshake \
	./state:FuzzCanonicalMatchesReference \
	./replay:FuzzLogReader ./replay:FuzzQuickDigests \
	./codec:FuzzDecodeRoundTrip ./codec:FuzzSkip \
	./message:FuzzDecode ./message:FuzzHello ./message:FuzzHelloAck \
	./message:FuzzPingRequest ./message:FuzzPingResponse \
	./message:FuzzAddrListRequest ./message:FuzzAddrListResponse \
	./message:FuzzAddrAnnounce ./message:FuzzDisconnect

.PHONY: all build test test-browser lint fuzz bench bench-net bench-sim demo clean

all: build

## build: compile every package and bin/p2pnode
build:
	$(GO) build ./...
	$(GO) build -o bin/p2pnode ./cmd/p2pnode

## test: formatting, vet, every test (fuzz seed corpora included), and the browser test
test: lint test-browser
	$(GO) test -count=1 -timeout 20m ./...

## test-browser: the inspector page driven in headless Chromium (a module of its own,
## inspect/browsertest, so chromedp stays out of go.mod); screenshots go to $$P2PCORE_ARTEFACTS
test-browser:
	cd inspect/browsertest && $(GO) vet ./... && $(GO) test -count=1 -timeout 5m ./...

## lint: gofmt, go vet, and the determinism rules of DESIGN.md §3
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt: not formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -run TestCoreIsDeterministic ./internal/determinism

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

## bench: the core benchmarks, COUNT repetitions (compare with benchstat)
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -count $(COUNT) ./store | tee bench-core.txt

clean:
	rm -rf bin bench-*.txt

## demo: start a local network on 127.0.0.1, check it, replay every log
demo:
	$(GO) run ./cmd/p2pnode demo

## bench-net: the node vs raw go-libp2p with the same options, side by side, as a table;
## then raw GossipSub alone at its defaults (what they lose in a burst)
bench-net:
	$(GO) test -run '^$$' -bench '^BenchmarkNet' -benchtime 1x -count 1 ./node >/dev/null  # warm-up: build, caches
	$(GO) test -run '^$$' -bench '^BenchmarkNetBroadcastLatency$$' -benchtime 300x -count 5 ./node | tee bench-net.txt
	$(GO) test -run '^$$' -bench '^BenchmarkNet(BroadcastBurst|BroadcastBurstRawDefaults|Direct)$$' -benchtime 2x -count 5 ./node | tee -a bench-net.txt
	@echo; $(GO) run ./internal/benchtable < bench-net.txt

## bench-sim: whole simulations at scale (100 and 1,000 nodes × 60 s, invariants on), as a table
bench-sim:
	$(GO) test -run '^$$' -bench '^BenchmarkSim' -benchtime 1x -count 3 -timeout 60m ./sim | tee bench-sim.txt
	@echo; $(GO) run ./internal/benchtable -sim < bench-sim.txt
