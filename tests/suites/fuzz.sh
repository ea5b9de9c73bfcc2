#!/usr/bin/env bash
# Fuzz the image decoder (tests/fuzz/fuzz-image.c) with libFuzzer for a
# bounded time (FUZZ_TIME seconds, default 60), seeded with CRIU 4.2's
# images from the fixtures. PASS if nothing crashes, leaks or aborts.
# Needs clang with its fuzzer runtime (Debian 12: package libclang-rt-14-dev,
# installed here); SKIP only when that is missing.
source "$(dirname "$0")/../lib.sh"
dir=$(scratch_dir)
FUZZ_TIME=${FUZZ_TIME:-60}

CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null; then
	skip fuzz/image "clang is not installed"
	exit 0
fi
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$dir/probe.c"
if ! "$CLANG" -fsanitize=fuzzer "$dir/probe.c" -o "$dir/probe" >"$dir/probe.log" 2>&1; then
	skip fuzz/image "clang's libFuzzer runtime is missing: $(head -1 "$dir/probe.log")"
	exit 0
fi
if ! ls "$BUILD"/src/proto/*.pb-c.c >/dev/null 2>&1; then
	fail fuzz/image "no generated protobuf-c sources in $BUILD/src/proto: build first"
	exit 0
fi

# The decoder and what it needs: image library, generated messages, logging.
# shellcheck disable=SC2054 # the commas are clang's
flags=(-std=gnu11 -g -O1 -D_GNU_SOURCE -DSTASIS_VERSION='"fuzz"' -fsanitize=address,undefined -fno-sanitize-recover=all
	-I"$SRC/src" -I"$SRC/include" -I"$BUILD/src/proto" -I"$BUILD/src/proto/google/protobuf")
objs=()
build_ok=1
for src in "$SRC"/src/image/*.c "$SRC"/src/base/log*.c "$BUILD"/src/proto/*.pb-c.c; do
	obj="$dir/obj/$(basename "$(dirname "$src")")-$(basename "$src" .c).o"
	mkdir -p "$dir/obj"
	if ! "$CLANG" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" 2>>"$dir/build.log"; then
		build_ok=0
	fi
	objs+=("$obj")
done
if [ $build_ok = 1 ]; then
	"$CLANG" "${flags[@]}" -fsanitize=fuzzer "$SRC/tests/fuzz/fuzz-image.c" "${objs[@]}" \
		-lprotobuf-c -lpthread -o "$dir/fuzz-image" 2>>"$dir/build.log" || build_ok=0
fi
if [ $build_ok = 0 ]; then
	fail fuzz/image-build "$(grep -m3 -E 'error|undefined' "$dir/build.log" | tr '\n' ' ')"
	exit 0
fi
pass fuzz/image-build

# Seeds: every image of the fixtures but the raw pages.
mkdir -p "$dir/corpus"
for f in "$FIXTURES"/images/*/*.img "$FIXTURES"/images/*/stats-dump; do
	case "$(basename "$f")" in pages-*) continue ;; esac
	cp "$f" "$dir/corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
done

if "$dir/fuzz-image" -max_total_time="$FUZZ_TIME" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$dir/" -print_final_stats=1 "$dir/corpus" >"$dir/fuzz.log" 2>&1; then
	pass fuzz/image
	echo "# fuzz/image: $(grep -m1 -E "^stat::number_of_executed_units" "$dir/fuzz.log") $(grep -E "^#[0-9]+.*(DONE|pulse)" "$dir/fuzz.log" | tail -1)"
else
	crash=$(find "$dir" -maxdepth 1 -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' | head -1)
	if [ -n "$crash" ]; then
		mkdir -p "$BUILD/fuzz-artifacts"
		cp "$crash" "$BUILD/fuzz-artifacts/"
		crash="$BUILD/fuzz-artifacts/$(basename "$crash")"
	fi
	fail fuzz/image "$(grep -m1 -E 'ERROR|SUMMARY|deadly' "$dir/fuzz.log") (input kept as $crash)"
fi
