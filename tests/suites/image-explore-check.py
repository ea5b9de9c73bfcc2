#!/usr/bin/python3
"""Checks `stasis image x DIR WHAT` (text and --json) against the images.

usage: image-explore-check.py WHAT DECODER DIR TEXT JSON

DECODER decodes the images (`DECODER decode [--pretty] -i IMG`): Debian's
crit, or stasis. Exits 1 with a line saying the first difference.
"""
import json
import os
import quopri
import subprocess
import sys

what, decoder, d, text_path, json_path = sys.argv[1:6]
text = open(text_path).read().split("\n")[:-1]
doc = json.load(open(json_path))


def fail(msg):
    print(msg)
    sys.exit(1)


def want(cond, msg):
    if not cond:
        fail(msg)


def load(name, pretty=False):
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return None
    cmd = [decoder, "decode", "-i", path] + (["--pretty"] if pretty else [])
    if decoder.endswith("crit"):
        cmd = ["/usr/bin/python3"] + cmd
    else:
        cmd.insert(1, "image")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["entries"]


pstree = load("pstree.img")
want([p["pid"] for p in doc] == [p["pid"] for p in pstree] or what == "ps",
     "JSON processes not in pstree.img order")


def per_process_text():
    """The text's lines per process: {pid: [lines after the pid line]}."""
    out, cur = {}, None
    for line in text:
        if not line.startswith("\t"):
            cur = int(line)
            out[cur] = []
        else:
            out[cur].append(line)
    return out


def check_ps():
    cores = {p["pid"]: load("core-%d.img" % p["pid"])[0] for p in pstree}
    by_pid = {p["pid"]: p for p in pstree}
    want(text[0].split() == ["PID", "PGID", "SID", "COMM"], "no header")
    want(len(doc) == len(pstree) == len(text) - 1, "not one entry per process")
    for line, j in zip(text[1:], doc):
        p = by_pid[j["pid"]]
        for k in ("ppid", "pgid", "sid", "threads"):
            want(j[k] == p.get(k, [] if k == "threads" else None), "%d: %s differs" % (j["pid"], k))
        want(j["comm"] == cores[j["pid"]]["tc"]["comm"], "%d: comm differs" % j["pid"])
        depth, q = 0, p
        while q["ppid"]:
            q, depth = by_pid[q["ppid"]], depth + 1
        want(line == "%7d%7d%7d   %s%s" % (j["pid"], j["pgid"], j["sid"], " " * 4 * depth, j["comm"]),
             "text line %r is not the JSON's" % line)


def check_fds():
    lines = per_process_text()
    for j in doc:
        ids = load("ids-%d.img" % j["pid"])[0]
        fdinfo = load("fdinfo-%d.img" % ids["files_id"])
        want([(f["fd"], f["type"], f["id"], f["flags"]) for f in j["fds"]] ==
             [(f["fd"], f["type"], f["id"], f["flags"]) for f in fdinfo],
             "%d: fds differ from fdinfo" % j["pid"])
        expect = ["\t%7d: %s" % (f["fd"], f["name"]) for f in j["fds"]]
        expect += ["\t    cwd: " + j["cwd"], "\t   root: " + j["root"]]
        want(lines[j["pid"]] == expect, "%d: text differs from JSON" % j["pid"])


def check_mems():
    lines, vids = per_process_text(), {}
    for j in doc:
        mm = load("mm-%d.img" % j["pid"])[0]
        want(len(mm["vmas"]) == len(j["vmas"]), "%d: not one entry per VMA" % j["pid"])
        expect = ["\t%-36s    %s" % ("exe", j["exe"])]
        for v, m in zip(j["vmas"], mm["vmas"]):
            for k in ("start", "end", "status", "flags"):
                want(v[k] == m[k], "%d: %s of %x differs" % (j["pid"], k, m["start"]))
            prot = "".join(c if m["prot"] & b else "-" for c, b in (("r", 1), ("w", 2), ("x", 4)))
            want(v["prot"] == prot, "%d: prot of %x differs" % (j["pid"], m["start"]))
            want(v["regular"] == bool(m["status"] & 1), "regular differs")
            k = v["kind"]
            if k in ("ips", "shmem", "packet"):
                want(v["shmid"] == m["shmid"], "shmid differs")
                vids.setdefault(v["shmid"], len(vids) + 1)
                fn = " %s[%x]" % (k, vids[v["shmid"]])
            elif k == "file":
                want(v["pgoff"] == m["pgoff"] and v["shared"] == bool(m["status"] & 128), "file")
                fn = " " + v["file"] + (" + %#x" % v["pgoff"] if v["pgoff"] else "")
                fn += " (s)" if v["shared"] else ""
            else:
                fn = "" if k == "anon" else " [%s]" % k
            fn += "" if v["regular"] else " *"
            expect.append("\t%-36s%s%s" % ("%08x-%08x" % (v["start"], v["end"]), v["prot"], fn))
        want(lines[j["pid"]] == expect, "%d: text differs from JSON" % j["pid"])


def check_rss():
    lines = per_process_text()
    for j in doc:
        vmas = load("mm-%d.img" % j["pid"])[0]["vmas"]
        pms = load("pagemap-%d.img" % j["pid"])[1:]
        want(len(pms) == len(j["pagemap"]), "%d: not one entry per pagemap entry" % j["pid"])
        for e, pm in zip(j["pagemap"], pms):
            end = pm["vaddr"] + pm["nr_pages"] * 4096
            want((e["vaddr"], e["nr_pages"], e["flags"]) == (pm["vaddr"], pm["nr_pages"], pm.get("flags", 0)),
                 "%d: entry %x differs" % (j["pid"], pm["vaddr"]))
            want(e["vmas"] == [v["start"] for v in vmas if v["start"] < end and v["end"] > pm["vaddr"]],
                 "%d: VMAs of %x differ" % (j["pid"], pm["vaddr"]))
        starts = [l.split()[:3] for l in lines[j["pid"]] if not l.startswith("\t ")]
        want(starts == [["%x" % e["vaddr"], "/", str(e["nr_pages"])] for e in j["pagemap"]],
             "%d: text entries differ from JSON" % j["pid"])


def check_sk():
    from pycriu.images.pb2dict import sk_maps
    files = {f["id"]: f for f in load("files.img", True) or []}
    older = {f["id"]: f for f in load("inetsk.img", True) or []}
    member = {"UNIXSK": "usk", "INETSK": "isk", "NETLINKSK": "nlsk", "PACKETSK": "psk"}
    nl_protos = {0: "ROUTE", 16: "GENERIC"}
    expect_text, expect_json = [], []
    for p in pstree:
        ids = load("ids-%d.img" % p["pid"])[0]
        expect_text.append(str(p["pid"]))
        socks = []
        for fd in load("fdinfo-%d.img" % ids["files_id"]):
            if fd["type"] not in member:
                continue
            f = files.get(fd["id"])
            e = f.get(member[fd["type"]]) if f else older.get(fd["id"])
            j = {"fd": fd["fd"], "id": fd["id"]}
            if e is None:
                j.update(family=fd["type"], missing="yes")
                cols, details = (fd["type"], "-", "-"), [("missing", "yes")]
            elif fd["type"] == "UNIXSK":
                j.update(family="UNIX", type=e["type"], state=e["state"])
                details = [("ino", e["ino"])] + ([("peer", e["peer"])] if e["peer"] else [])
                details += [("name", e["name"])] if e["name"] else []
                details += [("shutdown", e["shutdown"])] if e.get("shutdown", "NONE") != "NONE" else []
                cols = ("UNIX", e["type"], e["state"])
            elif fd["type"] == "INETSK":
                j.update(family=e["family"], type=e["type"], state=e["state"])
                v6 = e["family"] == "INET6"
                details = [("ino", e["ino"]), ("proto", e["proto"])]
                src, dst = e["src_addr"][0], e["dst_addr"][0]
                fmt = (lambda a, port: "[%s]:%d" % (a, port)) if v6 else (lambda a, port: "%s:%d" % (a, port))
                details.append(("src", fmt(src, e["src_port"])))
                j.update(src=src, src_port=e["src_port"])
                if e["dst_port"] or dst not in ("0.0.0.0", "::"):
                    details.append(("dst", fmt(dst, e["dst_port"])))
                    j.update(dst=dst, dst_port=e["dst_port"])
                details += [("dev", e["ifname"])] if "ifname" in e else []
                details += [("shutdown", e["shutdown"])] if e.get("shutdown", "NONE") != "NONE" else []
                cols = (e["family"], e["type"], e["state"])
            elif fd["type"] == "NETLINKSK":
                state = {0: "UNCONNECTED", 1: "CONNECTED"}[e["state"]]
                j.update(family="NETLINK", state=state)
                groups = [32 * w + b + 1 for w, g in enumerate(e.get("groups", [])) for b in range(32) if g >> b & 1]
                details = [("ino", e["ino"]), ("proto", nl_protos[e["protocol"]]), ("portid", e["portid"])]
                if groups:
                    details.append(("groups", ",".join(map(str, groups))))
                    j["groups"] = groups
                if e["dst_portid"] or e["dst_group"]:
                    details += [("dst_portid", e["dst_portid"]), ("dst_group", e["dst_group"])]
                cols = ("NETLINK", "-", state)
            else:
                t = sk_maps["type"][e["type"]]
                j.update(family="PACKET", type=t)
                details = [("proto", "0x%04x" % e["protocol"]), ("ifindex", e["ifindex"]),
                           ("version", e["version"])]
                cols = ("PACKET", t, "-")
            j.update((k, v) for k, v in details if k not in ("src", "dst", "groups"))
            expect_text.append("\t%7d: %-7s %-9s %-11s" % ((fd["fd"],) + cols) +
                               "".join(" %s %s" % kv for kv in details))
            socks.append(j)
        expect_json.append({"pid": p["pid"], "sockets": socks})
    # the synthetic set must exercise every kind
    kinds = {s["family"] for p in expect_json for s in p["sockets"]}
    want(kinds >= {"UNIX", "INET", "INET6", "NETLINK", "PACKET"}, "kinds missing: %s" % kinds)
    for a, b in zip(text + [""] * 99, expect_text):
        want(a == b, "text line %r, expected %r" % (a, b))
    want(len(text) == len(expect_text), "%d text lines, expected %d" % (len(text), len(expect_text)))
    want(doc == expect_json, "JSON differs: %s" % [
        (a, b) for p, q in zip(doc, expect_json) for a, b in zip(p["sockets"], q["sockets"]) if a != b][:1])
    # and the JSON names unix sockets by their bytes
    for p in doc:
        for s in p["sockets"]:
            if s["family"] == "UNIX" and "name" in s:
                quopri.decodestring(s["name"])


{"ps": check_ps, "fds": check_fds, "mems": check_mems, "rss": check_rss, "sk": check_sk}[what]()
