#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generate crit's render-options table from the image schemas.

CRIU marks how crit shows a field with custom field options in the .proto
text: [(criu).hex = true], (criu).ipadd, (criu).flags = "mmap.prot",
(criu).dev, (criu).odev, (criu).dict = "sk", (criu).conv = "unix_name".
protobuf-c drops custom options from the C descriptors, so this script
recovers them at build time. It does not parse .proto text: protoc-c has
already compiled the schemas into a FileDescriptorSet (protoc-c -o), which
this script reads with a minimal protobuf wire decoder (no third-party
module). The option is found by its name: the extension called "criu" of
google.protobuf.FieldOptions, whose message type gives the option numbers.

Usage: gen-render-table.py DESCRIPTOR_SET... OUTPUT.c
"""

import sys

# Field numbers in google/protobuf/descriptor.proto.
FDSET_FILE = 1
FILE_PACKAGE, FILE_MESSAGE, FILE_EXTENSION = 2, 4, 7
MSG_NAME, MSG_FIELD, MSG_NESTED, MSG_EXTENSION = 1, 2, 3, 6
FIELD_NAME, FIELD_EXTENDEE, FIELD_NUMBER, FIELD_TYPE_NAME, FIELD_OPTIONS = 1, 2, 3, 6, 8

OPTION_KINDS = ("hex", "ipadd", "flags", "dev", "odev", "dict", "conv")
BOOL_OPTIONS = ("hex", "ipadd", "dev", "odev")


class WireError(Exception):
    pass


def varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise WireError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint too long")


def fields(buf):
    """Yield (number, value) of every field; value is int or bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wtype = key >> 3, key & 7
        if wtype == 0:
            val, pos = varint(buf, pos)
        elif wtype == 1:
            val, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wtype == 2:
            n, pos = varint(buf, pos)
            val, pos = bytes(buf[pos:pos + n]), pos + n
        elif wtype == 5:
            val, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        else:
            raise WireError("unsupported wire type %d" % wtype)
        if pos > len(buf):
            raise WireError("truncated field %d" % num)
        yield num, val


def first(buf, num, default=None):
    for n, v in fields(buf):
        if n == num:
            return v
    return default


def text(b):
    return b.decode("utf-8") if isinstance(b, bytes) else b


class Message:
    def __init__(self, full_name, raw):
        self.full_name = full_name
        self.raw = raw


def collect_messages(files):
    """All message types (nested ones too) by full name, with dot-less keys."""
    msgs = {}

    def walk(raw, prefix):
        name = prefix + text(first(raw, MSG_NAME, b""))
        msgs[name] = Message(name, raw)
        for n, v in fields(raw):
            if n == MSG_NESTED:
                walk(v, name + ".")

    for f in files:
        pkg = text(first(f, FILE_PACKAGE, b""))
        for n, v in fields(f):
            if n == FILE_MESSAGE:
                walk(v, pkg + "." if pkg else "")
    return msgs


def find_criu_option(files, msgs):
    """(extension number, {option number: option name}) of (criu)."""
    def extensions():
        for f in files:
            for n, v in fields(f):
                if n == FILE_EXTENSION:
                    yield v
        for m in msgs.values():
            for n, v in fields(m.raw):
                if n == MSG_EXTENSION:
                    yield v

    for ext in extensions():
        if text(first(ext, FIELD_NAME, b"")) != "criu":
            continue
        if text(first(ext, FIELD_EXTENDEE, b"")).lstrip(".") != "google.protobuf.FieldOptions":
            continue
        opts_type = text(first(ext, FIELD_TYPE_NAME, b"")).lstrip(".")
        if opts_type not in msgs:
            sys.exit("gen-render-table: type %s of (criu) not found" % opts_type)
        numbers = {}
        for n, v in fields(msgs[opts_type].raw):
            if n == MSG_FIELD:
                name = text(first(v, FIELD_NAME, b""))
                if name in OPTION_KINDS:
                    numbers[first(v, FIELD_NUMBER)] = name
        return first(ext, FIELD_NUMBER), numbers
    sys.exit("gen-render-table: no 'criu' extension of google.protobuf.FieldOptions")


def field_options(field_raw, ext_number, numbers):
    opts_raw = first(field_raw, FIELD_OPTIONS)
    if opts_raw is None:
        return {}
    result = {}
    for n, v in fields(opts_raw):
        if n != ext_number:
            continue
        for on, ov in fields(v):
            kind = numbers.get(on)
            if kind in BOOL_OPTIONS:
                result[kind] = bool(ov)
            elif kind:
                result[kind] = text(ov)
    return {k: v for k, v in result.items() if v}


def c_string(s):
    if s is None:
        return "NULL"
    if any(c in s for c in '"\\\n') or not s.isascii():
        sys.exit("gen-render-table: unexpected characters in option %r" % s)
    return '"%s"' % s


def render(msgs, ext_number, numbers):
    out = ["/* Generated by src/crit/gen-render-table.py from src/proto: do not edit. */",
           '#include "crit/render-table.h"', ""]
    table = []
    for name in sorted(msgs):
        rows = []
        for n, v in fields(msgs[name].raw):
            if n != MSG_FIELD:
                continue
            opts = field_options(v, ext_number, numbers)
            if not opts:
                continue
            bits = " | ".join("CRIT_R_" + k.upper() for k in BOOL_OPTIONS if opts.get(k)) or "0"
            rows.append('\t{ "%s", %s, %s, %s, %s },' % (
                text(first(v, FIELD_NAME)), bits, c_string(opts.get("flags")),
                c_string(opts.get("dict")), c_string(opts.get("conv"))))
        if rows:
            ident = "rf_%d" % len(table)
            out.append("static const struct crit_render_field %s[] = {" % ident)
            out.extend(rows)
            out.append("};")
            table.append((name, ident, len(rows)))
    out.append("")
    out.append("/* Sorted by message name, for bsearch(). */")
    out.append("const struct crit_render_msg crit_render_msgs[] = {")
    for name, ident, count in table:
        out.append('\t{ "%s", %s, %d },' % (name, ident, count))
    if not table:
        out.append("\t{ NULL, NULL, 0 },")
    out.append("};")
    out.append("const size_t crit_render_msgs_count = %d;" % len(table))
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: gen-render-table.py DESCRIPTOR_SET... OUTPUT.c")
    files = []
    for path in argv[1:-1]:
        with open(path, "rb") as f:
            files.extend(v for n, v in fields(f.read()) if n == FDSET_FILE)
    try:
        msgs = collect_messages(files)
        ext_number, numbers = find_criu_option(files, msgs)
        source = render(msgs, ext_number, numbers)
    except WireError as e:
        sys.exit("gen-render-table: bad descriptor set: %s" % e)
    with open(argv[-1], "w") as f:
        f.write(source)


if __name__ == "__main__":
    main(sys.argv)
