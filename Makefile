# secpol: thin wrapper over CMake. `make` builds, `make test` runs everything.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

DEB_PACKAGES = build-essential cmake clang llvm pkg-config libbpf-dev libelf-dev zlib1g-dev \
	bpftool iproute2 libcli11-dev nlohmann-json3-dev libpcap-dev googletest libgtest-dev \
	libbenchmark-dev linux-libc-dev iputils-ping python3 \
	jq strongswan-charon strongswan-swanctl libcharon-extra-plugins krb5-kdc krb5-admin-server \
	krb5-user dnsmasq-base isc-dhcp-client libclang-rt-14-dev \
	xdp-tools nftables gnuplot-nox libsystemd-dev libcpp-httplib-dev prometheus pandoc lintian libxdp-dev tcpdump

.PHONY: all build deps test test-asan demo bench clean format fuzz install package

all: build

build:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# make install [PREFIX=/usr/local] [DESTDIR=/scratch]: binary, secpol.service,
# man pages, bash completion, example policies (docs/service.md).
PREFIX ?= /usr/local
install:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD) -j $(JOBS) --target secpol man changelog
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# make package: build/secpol_VERSION_ARCH.deb (CPack), installed paths under /usr and /etc.
package:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DCMAKE_INSTALL_PREFIX=/usr
	cmake --build $(BUILD) -j $(JOBS) --target secpol man changelog
	cd $(BUILD) && cpack -G DEB

# Idempotent: apt-get only runs when a package is missing.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j 1 $(CTEST_ARGS)

# ASan+UBSan (-O1, build-asan/): unit tests, fuzz replays and e2e tests with the
# sanitized CLI; see tests/asan/run.sh and docs/robustness.md. Run by .ci/run.
test-asan: deps
	JOBS=$(JOBS) bash tests/asan/run.sh build-asan

demo: deps build
	bash tests/demo/run.sh $(BUILD)/secpol

# The benchmark suite (docs/performance.md): per-packet cost against the
# empty-XDP floor and the peers, control plane, real traffic on a veth pair;
# writes bench/results/DATE.{json,md,txt,png}. Runs as root; not part of make
# test. BENCH_ARGS e.g. "--sizes 10,100 --spec-sizes 10 --no-veth" or "--quick".
bench: deps build
	cmake --build $(BUILD) --target secpol_bench secpol_gbench -j $(JOBS)
	mkdir -p bench/results
	$(BUILD)/secpol_bench --out-dir bench/results $(BENCH_ARGS)
	$(BUILD)/secpol_gbench --benchmark_out=bench/results/$$(date +%Y-%m-%d)-gbench.json \
		--benchmark_out_format=json $(GBENCH_ARGS)

# libFuzzer targets (clang, ASan+UBSan, build-fuzz/), FUZZ_SECONDS each; see docs/robustness.md.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(JOBS) bash fuzz/run.sh $(FUZZ_TARGETS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h' '*.c')

clean:
	rm -rf $(BUILD)
