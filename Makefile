# autoprog: the two commands of the README, and the pieces they are made of.
#   make run    installs what is missing, builds (release) and runs the quick-start recipe
#   make test   installs what is missing and runs the whole test suite
# Both install the Debian packages they need (apt-get; sudo when not root).

DEBIAN_PACKAGES := libopenblas-dev liblua5.4-dev zlib1g-dev libpng-dev libedit-dev dataset-fashion-mnist ruby-gemojione
SWIFT_RELEASE := swift build -c release
# Numeric tests are 10-100x slower unoptimised: the suite runs optimised, serially
# (the engine's RNG and grad mode are process-wide).
SWIFT_TEST := swift test -c release -Xswiftc -enable-testing --no-parallel

.PHONY: run test deps build bench

run: deps
	$(SWIFT_RELEASE) --product autoprog-run
	"$$($(SWIFT_RELEASE) --show-bin-path)/autoprog-run" scripts/quickstart.lua

test: deps
	$(SWIFT_TEST)

build: deps
	$(SWIFT_RELEASE)

bench: build
	"$$($(SWIFT_RELEASE) --show-bin-path)/autoprog-bench" gemm kernels vit

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi
