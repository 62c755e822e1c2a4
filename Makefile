# Rollcall build targets.
#
# SAM (`Metadata: {BuildMethod: makefile}`) runs `make build-<LogicalId>` with ARTIFACTS_DIR set:
#   build-RollcallLayer  the layer: extensions/rollcall, rollcall-wrapper, bootstrap
#   build-HelloFunction  the demo function, shipped as `hello` (Handler: hello) so that the
#                        layer's /opt/bootstrap runs it behind the proxy
# Local targets:
#   make layer           the layer tree in out/layer
#   make layer-zip       out/rollcall-layer.zip (what `aws lambda publish-layer-version` takes)
#
# Needs: cargo-lambda (`pip install cargo-lambda==1.9.2`), Zig (`pip install ziglang==0.17.1`)
# and the musl target (`rustup target add x86_64-unknown-linux-musl`). The extension links
# mimalloc (C) statically against musl; Zig is the C cross-compiler (COMPILER=zig). The demo
# function has no C code and builds with plain cargo.

CARGO_LAMBDA ?= cargo lambda
LAYER_TARGET ?= x86_64-unknown-linux-musl
COMPILER ?= zig
FUNCTION_COMPILER ?= cargo
CARGO_TARGET_DIR ?= target
OUT ?= out
LAYER_DIR ?= $(OUT)/layer
LAYER_ZIP ?= $(OUT)/rollcall-layer.zip
FUNCTION_TARGET ?= x86_64-unknown-linux-musl

EXTENSION_BIN := $(CARGO_TARGET_DIR)/lambda/extensions/rollcall
LAYER_SCRIPTS := extension/layer/rollcall-wrapper extension/layer/bootstrap

.PHONY: build-RollcallLayer build-HelloFunction layer layer-zip extension-release layer-files clean-layer

extension-release:
	$(CARGO_LAMBDA) build --release --extension --compiler $(COMPILER) \
		--target $(LAYER_TARGET) -p rollcall-extension --bin rollcall

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
	rm -rf "$(LAYER_DIR)" "$(LAYER_ZIP)"
