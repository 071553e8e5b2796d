# The two commands of the README quickstart, plus the pieces they are made of.
#   make demo   install what is missing, configure, build, run the main job on local ranks
#   make test   the same set-up, then every test (unit, multi-process, sanitizers)
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps configure build demo test test-fast sanitize clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake --preset default >/dev/null || cmake --preset default

build: configure
	@cmake --build --preset default -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

# Sanitizer runs first, so the last lines are the main suite's ctest summary.
test: build
	@$(MAKE) --no-print-directory sanitize
	@cd $(BUILD) && ctest --output-on-failure -j 2

test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j 2 -LE slow

# ASan+UBSan over everything that runs in one process or through strata-run; TSan over the
# progress engine (executor, transports, host streams) in the thread-rank unit tests.
sanitize: deps
	@scripts/sanitize.sh

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
