# Rollcall build targets.
#
# SAM (`Metadata: {BuildMethod: makefile}`) runs `make build-<LogicalId>` with ARTIFACTS_DIR set:
#   build-RollcallLayer  the layer: extensions/rollcall, rollcall-wrapper, bootstrap
#   build-HelloFunction  the demo function, shipped as `hello` (Handler: hello) so that the
#                        layer's /opt/bootstrap runs it behind the proxy
# Local targets:
#   make layer           the layer tree in out/layer
#   make layer-zip       out/rollcall-layer.zip (what `aws lambda publish-layer-version` takes)
#   make layer-zip LAYER_ARCH=arm64   out/rollcall-layer-arm64.zip, for Graviton functions
#   make lab-dev         debug builds of the lab, the prober, the extension and `hello`, with the
#                        layer tree in out/dev/layer and hello's code in out/dev/code/{1,2}: what
#                        the README's lab example runs (plain cargo: no musl target, no Zig)
#
# Needs: cargo-lambda (`pip install cargo-lambda==1.9.2`), Zig (`pip install ziglang==0.17.1`)
# and the musl target (`rustup target add x86_64-unknown-linux-musl`). The extension links
# mimalloc (C) statically against musl; Zig is the C cross-compiler (COMPILER=zig). The demo
# function has no C code but builds with Zig too (FUNCTION_COMPILER=zig): with `--compiler cargo`
# the two builds share target/ under different flags and each rebuilt the other's dependencies,
# so a second `sam build` recompiled everything (tests/tests/sam_build.rs checks it does not).

CARGO_LAMBDA ?= cargo lambda
# The layer's architecture, as Lambda names it: x86_64 (default) or arm64 (Graviton). The arm64
# layer needs `rustup target add aarch64-unknown-linux-musl` and lands in out/*-arm64.
LAYER_ARCH ?= x86_64
ifeq ($(LAYER_ARCH),x86_64)
LAYER_TARGET := x86_64-unknown-linux-musl
ARCH_SUFFIX :=
else ifeq ($(LAYER_ARCH),arm64)
LAYER_TARGET := aarch64-unknown-linux-musl
ARCH_SUFFIX := -arm64
else
$(error LAYER_ARCH=$(LAYER_ARCH) is not a Lambda architecture: use x86_64 or arm64)
endif
COMPILER ?= zig
FUNCTION_COMPILER ?= zig
CARGO_TARGET_DIR ?= target
OUT ?= out
LAYER_DIR ?= $(OUT)/layer$(ARCH_SUFFIX)
LAYER_ZIP ?= $(OUT)/rollcall-layer$(ARCH_SUFFIX).zip
FUNCTION_TARGET ?= x86_64-unknown-linux-musl

# One output directory per architecture: cargo-lambda moves the binary there.
LAMBDA_DIR := $(CARGO_TARGET_DIR)/lambda$(ARCH_SUFFIX)
EXTENSION_BIN := $(LAMBDA_DIR)/extensions/rollcall
LAYER_SCRIPTS := extension/layer/rollcall-wrapper extension/layer/bootstrap

.PHONY: build-RollcallLayer build-HelloFunction layer layer-zip extension-release layer-files clean-layer lab-dev

extension-release:
	$(CARGO_LAMBDA) build --release --extension --compiler $(COMPILER) \
		--target $(LAYER_TARGET) --lambda-dir $(LAMBDA_DIR) -p rollcall-extension --bin rollcall

# Copies the layer's files into $(DEST), which must exist.
layer-files: extension-release
	mkdir -p "$(DEST)/extensions"
	install -m 0755 "$(EXTENSION_BIN)" "$(DEST)/extensions/rollcall"
	install -m 0755 $(LAYER_SCRIPTS) "$(DEST)/"

build-RollcallLayer:
	$(MAKE) layer-files DEST="$(ARTIFACTS_DIR)"

layer:
	rm -rf "$(LAYER_DIR)"
	mkdir -p "$(LAYER_DIR)"
	$(MAKE) layer-files DEST="$(LAYER_DIR)"

layer-zip: layer
	rm -f "$(LAYER_ZIP)"
	cd "$(LAYER_DIR)" && zip -X -q -r "$(abspath $(LAYER_ZIP))" extensions rollcall-wrapper bootstrap
	@ls -l "$(LAYER_ZIP)"

build-HelloFunction:
	$(CARGO_LAMBDA) build --release --compiler $(FUNCTION_COMPILER) --target $(FUNCTION_TARGET) -p hello --bin hello
	install -m 0755 "$(CARGO_TARGET_DIR)/lambda/hello/bootstrap" "$(ARTIFACTS_DIR)/hello"

clean-layer:
	rm -rf "$(OUT)/dev" "$(OUT)/layer" "$(OUT)/layer-arm64" "$(OUT)/rollcall-layer.zip" "$(OUT)/rollcall-layer-arm64.zip"

# The README's lab example: the layer as Lambda mounts it on /opt (the extension plus the wrapper
# scripts) and two published versions of `hello`, from debug builds.
DEV_DIR ?= $(OUT)/dev
lab-dev:
	cargo build --locked -p lab -p hello -p rollcall-extension -p prober --bins
	rm -rf "$(DEV_DIR)"
	mkdir -p "$(DEV_DIR)/layer/extensions" "$(DEV_DIR)/code/1" "$(DEV_DIR)/code/2"
	install -m 0755 "$(CARGO_TARGET_DIR)/debug/rollcall" "$(DEV_DIR)/layer/extensions/rollcall"
	install -m 0755 $(LAYER_SCRIPTS) "$(DEV_DIR)/layer/"
	install -m 0755 "$(CARGO_TARGET_DIR)/debug/hello" "$(DEV_DIR)/code/1/hello"
	install -m 0755 "$(CARGO_TARGET_DIR)/debug/hello" "$(DEV_DIR)/code/2/hello"
