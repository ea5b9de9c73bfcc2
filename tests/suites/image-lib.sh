#!/usr/bin/env bash
# libstasis-image as other programs use it: installed (meson install into a
# scratch DESTDIR), found with pkg-config, linked shared and static, and
# reading CRIU 4.2's images from the fixtures through the public API only.
source "$(dirname "$0")/../lib.sh"
dir=$(scratch_dir)
root=$dir/root

if ! meson install -C "$BUILD" --no-rebuild --destdir "$root" >"$dir/install.log" 2>&1; then
	fail image-lib/install "meson install failed: $(tail -3 "$dir/install.log" | tr '\n' ' ')"
	exit 0
fi
pc=$(find "$root" -name libstasis-image.pc | head -1)
hdr=$(find "$root" -path '*/include/stasis/image.h' | head -1)
if [ -z "$pc" ] || [ -z "$hdr" ] || [ -z "$(find "$root" -path '*/stasis/proto/core.pb-c.h')" ]; then
	fail image-lib/install "missing libstasis-image.pc, stasis/image.h or stasis/proto/*.pb-c.h"
	exit 0
fi
pass image-lib/install

PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR=$root
if ! cflags=$(pkg-config --cflags libstasis-image) || ! libs=$(pkg-config --libs libstasis-image) ||
	! pkg-config --static --libs libstasis-image >/dev/null; then
	fail image-lib/pkg-config "pkg-config cannot use $pc"
	exit 0
fi
pass image-lib/pkg-config

# A consumer: the pids of pstree.img and the checksum of counter's heap buffer.
cat >"$dir/consumer.c" <<'C'
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stasis/image.h>
#include <pstree.pb-c.h>

int main(int argc, char **argv)
{
	struct img_dir *dir;
	struct img_file *f;
	struct img_entry e = { 0 };
	struct img_pagemap *pm;
	size_t len = 4u << 20;
	uint8_t *buf = malloc(len);
	uint64_t h = 1469598103934665603ULL;

	if (argc != 3 || img_dir_open(argv[1], &dir) < 0 || img_open(dir, IMG_PSTREE, 0, &f) < 0)
		return 1;
	while (img_next(f, &e) > 0) {
		printf("pid %d\n", ((PstreeEntry *)e.msg)->pid);
		img_entry_clear(&e);
	}
	img_close(f);
	img_dir_free(dir);
	if (img_dir_open(argv[2], &dir) < 0 || img_pagemap_open(dir, IMG_PAGEMAP, 21002, &pm) < 0 ||
	    img_pagemap_read(pm, 0x7f4946588010ull, buf, len, 0) < 0)
		return 1;
	for (size_t i = 0; i < len; i++)
		h = (h ^ buf[i]) * 1099511628211ULL;
	printf("sum %llx\n", (unsigned long long)h);
	img_pagemap_free(pm);
	img_dir_free(dir);
	free(buf);
	return 0;
}
C
want=$'pid 21102\npid 21103\nsum f1c2fd17479ab383'
libdir=$(dirname "$(dirname "$pc")")

# shellcheck disable=SC2086
if ! cc -Wall -Werror $cflags "$dir/consumer.c" -o "$dir/consumer-shared" $libs 2>"$dir/cc.log"; then
	fail image-lib/shared "cannot build against the shared library: $(head -3 "$dir/cc.log" | tr '\n' ' ')"
elif ! out=$(LD_LIBRARY_PATH=$libdir "$dir/consumer-shared" "$FIXTURES/images/pipes" "$FIXTURES/images/counter" 2>&1); then
	fail image-lib/shared "the consumer failed: $out"
elif [ "$out" != "$want" ]; then
	fail image-lib/shared "unexpected output: $out"
else
	pass image-lib/shared
fi

static_deps=$(pkg-config --static --libs-only-l libstasis-image | sed 's/-lstasis-image//')
# shellcheck disable=SC2086
if ! cc -Wall -Werror -static-libgcc $cflags "$dir/consumer.c" -o "$dir/consumer-static" \
	"$libdir/libstasis-image.a" $static_deps \
	2>"$dir/cc.log"; then
	fail image-lib/static "cannot build against the static library: $(head -3 "$dir/cc.log" | tr '\n' ' ')"
elif ldd "$dir/consumer-static" | grep -q libstasis-image; then
	fail image-lib/static "the static consumer still needs libstasis-image.so"
elif ! out=$("$dir/consumer-static" "$FIXTURES/images/pipes" "$FIXTURES/images/counter" 2>&1); then
	fail image-lib/static "the consumer failed: $out"
elif [ "$out" != "$want" ]; then
	fail image-lib/static "unexpected output: $out"
else
	pass image-lib/static
fi
