#!/usr/bin/env python3
# extract_dcerpc.py - turn the reference captures (.pcap) into one
# binary file per DCE/RPC PDU under tests/data/dcerpc/ and a C header of
# the same bytes for the unit tests. Run once by hand; its output is
# committed, so nothing at test time depends on /work/shared.
# Usage: tests/data/extract_dcerpc.py CAPTURE-DIR
import os
import sys

PTYPES = {0: "request", 2: "response", 3: "fault", 11: "bind",
          12: "bind_ack", 13: "bind_nak", 14: "alter_context",
          15: "alter_context_resp", 16: "auth3", 17: "shutdown",
          18: "co_cancel", 19: "orphaned"}


def frames(path):
    """Yield each Ethernet frame of a little-endian pcapng file.
    (The .hex.txt dumps list only the frames tshark dissected as DCE/RPC,
    which leaves out e.g. capture 06's rpc_vers 4 bind; the pcap has all.)"""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != bytes.fromhex("0a0d0d0a") or \
            data[8:12] != bytes.fromhex("4d3c2b1a"):
        raise SystemExit("%s: not a little-endian pcapng file" % path)
    off = 0
    while off + 12 <= len(data):
        btype = int.from_bytes(data[off:off + 4], "little")
        blen = int.from_bytes(data[off + 4:off + 8], "little")
        if blen < 12:
            raise SystemExit("%s: bad block length" % path)
        if btype == 1 and int.from_bytes(data[off + 8:off + 10],
                                         "little") != 1:
            raise SystemExit("%s: not Ethernet" % path)
        if btype == 6:  # enhanced packet block
            incl = int.from_bytes(data[off + 20:off + 24], "little")
            yield data[off + 28:off + 28 + incl]
        off += blen


def tcp_payload(fr):
    """(stream key, seq, payload) of an Ethernet/IPv4/TCP frame."""
    ip = fr[14:]
    if fr[12:14] != b"\x08\x00" or ip[9] != 6:
        return None, 0, b""
    ihl = (ip[0] & 15) * 4
    total = int.from_bytes(ip[2:4], "big")
    tcp = ip[ihl:total]
    sport = int.from_bytes(tcp[0:2], "big")
    dport = int.from_bytes(tcp[2:4], "big")
    seq = int.from_bytes(tcp[4:8], "big")
    doff = (tcp[12] >> 4) * 4
    return (sport, dport), seq, tcp[doff:]


def pdus(capdir, name):
    """Every PDU of a capture, in the order its last byte arrived."""
    streams = {}
    out = []
    for fr in frames(os.path.join(capdir, name + ".pcap")):
        key, seq, data = tcp_payload(fr)
        if not data:
            continue
        st = streams.setdefault(key, {"next": None, "buf": bytearray()})
        if st["next"] is not None and seq != st["next"]:
            if (seq - st["next"]) & 0xffffffff > 0x7fffffff:
                continue  # retransmission of bytes already seen
            raise SystemExit("%s: gap in stream %s" % (name, key))
        st["next"] = (seq + len(data)) & 0xffffffff
        st["buf"] += data
        while len(st["buf"]) >= 10:
            b = st["buf"]
            le = b[4] & 0x10
            flen = int.from_bytes(b[8:10], "little" if le else "big")
            if flen < 16 or len(b) < flen:
                break
            # The client speaks first on a connection: a stream whose
            # reverse has not spoken yet is the client's.
            if "client" not in st:
                rev = streams.get((key[1], key[0]))
                st["client"] = rev is None or "client" not in rev
            out.append((key, st["client"], bytes(b[:flen])))
            del b[:flen]
    return out


def main():
    capdir = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = os.path.join(here, "dcerpc")
    os.makedirs(outdir, exist_ok=True)
    names = sorted(n[:-5] for n in os.listdir(capdir) if n.endswith(".pcap"))
    hdr = ["/*\n * dce_vectors.h - every DCE/RPC PDU of the reference captures"
           " (Samba 4.17\n * samba-dcerpcd answering impacket 0.10), generated"
           " by\n * tests/data/extract_dcerpc.py. Do not edit.\n */",
           "#ifndef TETHER_DCE_VECTORS_H", "#define TETHER_DCE_VECTORS_H",
           "", "#include <stddef.h>", "#include <stdint.h>", "",
           "struct dce_vector {", "\tconst char *name;\t/* cNN-III-dir-ptype */",
           "\tint capture;", "\tint from_client;",
           "\tunsigned ptype;", "\tsize_t len;", "\tconst uint8_t *bytes;",
           "};", ""]
    table = []
    for name in names:
        cap = int(name[:2])
        if cap == 7:
            continue  # same bytes as capture 02
        for i, (key, client, b) in enumerate(pdus(capdir, name)):
            d = "c2s" if client else "s2c"
            pt = PTYPES.get(b[2], "pt%d" % b[2])
            base = "c%02d-%03d-%s-%s" % (cap, i, d, pt)
            with open(os.path.join(outdir, base + ".bin"), "wb") as f:
                f.write(b)
            ident = "v_" + base.replace("-", "_")
            body = ",".join("0x%02x" % x for x in b)
            lines = [body[j:j + 75] for j in range(0, len(body), 75)]
            hdr.append("static const uint8_t %s[%d] = {\n\t%s\n};" %
                       (ident, len(b), "\n\t".join(lines)))
            table.append('\t{ "%s", %d, %d, %d, %d, %s },' %
                         (base, cap, 1 if client else 0, b[2], len(b), ident))
    hdr.append("")
    hdr.append("static const struct dce_vector dce_vectors[] = {")
    hdr += table
    hdr.append("};")
    hdr.append("")
    hdr.append("#endif /* TETHER_DCE_VECTORS_H */")
    with open(os.path.join(outdir, "dce_vectors.h"), "w") as f:
        f.write("\n".join(hdr) + "\n")


if __name__ == "__main__":
    main()
