#!/usr/bin/python3
# epmap_impacket.py - interop: impacket (Debian's python3-impacket) against
# tether-epmap and tether-epmap-sample.
#   lookup  : list every endpoint through the lookup handle (paging by 2,
#             then impacket's own hept_lookup), check status 0 / NULL
#             handle on the last batch and that remote ept_insert is denied
#   map     : ept_map the sample interface, bind and call it on the port
#   replay  : (no impacket needed) the reference captures' client side
#             through epmap_replay, answers compared with Samba's
#   rpcdump : impacket's example rpcdump.py against tether-epmap on port
#             135 inside a network namespace this test creates
# Usage: epmap_impacket.py MODE TETHER_EPMAP TETHER_EPMAP_SAMPLE
# A missing impacket is a failure, not a skip.
import gzip
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

try:
    from impacket.dcerpc.v5 import epm, transport
    from impacket.dcerpc.v5.ndr import NULL
    from impacket.dcerpc.v5.rpcrt import DCERPCException
    from impacket.uuid import uuidtup_to_bin
except ImportError as e:
    print("FAIL: impacket is missing (apt-get install python3-impacket):", e)
    sys.exit(1)

from impacket.dcerpc.v5.ndr import NDRCALL


class ept_lookup_handle_free(NDRCALL):
    # impacket 0.10 does not define opnum 4
    opnum = 4
    structure = (("entry_handle", epm.ept_lookup_handle_t),)


class ept_lookup_handle_freeResponse(NDRCALL):
    structure = (("entry_handle", epm.ept_lookup_handle_t),
                 ("status", epm.error_status))


SAMPLE_UUID = "5f7a3c1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b"
EXAMPLES = "/usr/share/doc/python3-impacket/examples"

procs = []


def fail(msg):
    print("FAIL:", msg)
    raise SystemExit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


def fault_is(e, code, name):
    """impacket gives a fault's status as its name, other errors as a code"""
    return e.get_error_code() == code or str(e).strip() == name


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_listen(host, port, netns=None, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if netns:
            r = subprocess.run(["ip", "netns", "exec", netns, "ss", "-ltnH",
                                "sport = :%d" % port],
                               capture_output=True, text=True)
            if r.stdout.strip():
                return
        else:
            try:
                socket.create_connection((host, port), 0.5).close()
                return
            except OSError:
                pass
        time.sleep(0.05)
    fail("nothing listens on %s:%d" % (host, port))


def start(cmd, netns=None):
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=sys.stderr,
                         text=True)
    procs.append(p)
    return p


def start_epmap(epmap, tmp, listen, port_lo, netns=None):
    conf = os.path.join(tmp, "epmap.conf")
    sock = os.path.join(tmp, "epmap.sock")
    with open(conf, "w") as f:
        f.write("# written by epmap_impacket.py\n"
                "listen %s\nsocket %s\nport-range %d %d\n"
                "max-handles-per-association 4\n"
                % (listen, sock, port_lo, port_lo + 99))
    start([epmap, "-d", "-f", conf], netns)
    end = time.time() + 10
    while not os.path.exists(sock):
        if time.time() > end:
            fail("tether-epmap did not create its socket")
        time.sleep(0.05)
    return sock


def start_sample(sample, sock, name, netns=None):
    p = start([sample, "-s", sock, "-N", name, "-l", "127.0.0.1"], netns)
    line = p.stdout.readline().split()
    if len(line) != 2 or line[0] != "port":
        fail("sample %s did not start: %r" % (name, line))
    return int(line[1])


def connect(port, iface=None):
    # impacket's hept_* helpers bind themselves: pass iface None for them
    t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[%d]" % port)
    dce = t.get_dce_rpc()
    dce.connect()
    if iface is not None:
        dce.bind(iface)
    return dce


def tower_port_uuid(octets):
    """(uuid string, major) and the TCP port of a tower's floors."""
    n = struct.unpack_from("<H", octets, 0)[0]
    off, floors = 2, []
    for _ in range(n):
        ll = struct.unpack_from("<H", octets, off)[0]
        lhs = octets[off + 2:off + 2 + ll]
        off += 2 + ll
        rl = struct.unpack_from("<H", octets, off)[0]
        rhs = octets[off + 2:off + 2 + rl]
        off += 2 + rl
        floors.append((lhs, rhs))
    from impacket.uuid import bin_to_string
    lhs0 = floors[0][0]
    uuid = (bin_to_string(lhs0[1:17]).lower(),
            struct.unpack_from("<H", lhs0, 17)[0])
    port = None
    for lhs, rhs in floors:
        if lhs[:1] == b"\x07":
            port = struct.unpack(">H", rhs)[0]
    return uuid, port


def mode_lookup(epmap, sample, tmp):
    port = free_port()
    sock = start_epmap(epmap, tmp, "127.0.0.1:%d" % port, 42000 + os.getpid() % 20000)
    wait_listen("127.0.0.1", port)
    ports = [start_sample(sample, sock, "sample-%d" % i) for i in range(3)]

    # Paging by two through the context handle.
    dce = connect(port, epm.MSRPC_UUID_PORTMAP)
    handle = epm.ept_lookup_handle_t()
    seen, calls, last = [], 0, None
    while True:
        req = epm.ept_lookup()
        req["inquiry_type"] = epm.RPC_C_EP_ALL_ELTS
        req["object"] = NULL
        req["Ifid"] = NULL
        req["vers_option"] = epm.RPC_C_VERS_ALL
        req["entry_handle"] = handle
        req["max_ents"] = 2
        resp = dce.request(req, checkError=False)
        calls += 1
        check(resp["status"] == 0, "ept_lookup call %d: status 0" % calls)
        for i in range(resp["num_ents"]):
            e = resp["entries"][i]
            seen.append((tower_port_uuid(b"".join(e["tower"]["tower_octet_string"])),
                         b"".join(e["annotation"])))
        handle = resp["entry_handle"]
        last = resp
        if handle.isNull():
            break
        if calls > 10:
            fail("the listing does not end")
    check(calls == 2 and len(seen) == 4,
          "4 entries in 2 pages of 2 (got %d in %d)" % (len(seen), calls))
    check(last["num_ents"] == 2, "last batch carries entries with status 0")
    got_ports = sorted(p for (u, p), a in seen if u[0].lower() == SAMPLE_UUID)
    check(got_ports == sorted(ports), "the three sample ports are listed")
    check(any(u[0] == "e1af8308-5d1f-11c9-91a4-08002b14a0fa" and
              p == port for (u, p), a in seen), "the mapper lists itself")

    # A freed handle is unknown afterwards (fault context mismatch).
    req["entry_handle"] = epm.ept_lookup_handle_t()
    req["max_ents"] = 1
    resp = dce.request(req, checkError=False)
    h = resp["entry_handle"]
    check(not h.isNull(), "a partial listing returns a handle")
    fr = ept_lookup_handle_free()
    fr["entry_handle"] = h
    fresp = dce.request(fr, checkError=False)
    check(fresp["entry_handle"].isNull() and fresp["status"] == 0,
          "ept_lookup_handle_free zeroes the handle")
    req["entry_handle"] = h
    try:
        dce.request(req, checkError=False)
        fail("a freed handle was accepted")
    except DCERPCException as e:
        check(fault_is(e, 0x1c00001a, "nca_s_fault_context_mismatch"),
              "a freed handle gives nca_s_fault_context_mismatch")
    dce.disconnect()

    # impacket's own helper (max_ents 500) on a fresh connection.
    dce = connect(port)
    ents = epm.hept_lookup(None, dce=dce)
    check(len(ents) == 4, "hept_lookup lists 4 entries")
    check(sum(1 for e in ents if e["annotation"].startswith(b"tether sample")) == 3,
          "annotations come through")
    dce.disconnect()

    # ept_insert from a remote (TCP) caller is refused.
    dce = connect(port, epm.MSRPC_UUID_PORTMAP)
    try:
        dce.call(0, b"\x00" * 16)
        dce.recv()
        fail("remote ept_insert was not refused")
    except DCERPCException as e:
        check(fault_is(e, 5, "rpc_s_access_denied"),
              "remote ept_insert gets nca_s_fault_access_denied")
    dce.disconnect()


def mode_map(epmap, sample, tmp):
    port = free_port()
    sock = start_epmap(epmap, tmp, "127.0.0.1:%d" % port, 43000 + os.getpid() % 20000)
    wait_listen("127.0.0.1", port)
    sport = start_sample(sample, sock, "tether-sample-host")

    dce = connect(port)
    binding = epm.hept_map("127.0.0.1", uuidtup_to_bin((SAMPLE_UUID, "1.0")),
                           protocol="ncacn_ip_tcp", dce=dce)
    dce.disconnect()
    check(binding == "ncacn_ip_tcp:127.0.0.1[%d]" % sport,
          "hept_map gives the sample's port (%s)" % binding)
    mport = int(binding.split("[")[1].rstrip("]"))

    # A new connection to the mapped port, bind, call opnum 0.
    dce = connect(mport, uuidtup_to_bin((SAMPLE_UUID, "1.0")))
    dce.call(0, b"")
    stub = dce.recv()
    ref, mc, off, ac = struct.unpack_from("<IIII", stub, 0)
    name = stub[16:16 + ac - 1].decode()
    status = struct.unpack_from("<I", stub, (16 + ac + 3) & ~3)[0]
    check(ref != 0 and mc == ac and off == 0, "the name is an NDR string")
    check(name == "tether-sample-host" and status == 0,
          "the sample answers its name (%r)" % name)
    dce.disconnect()

    # An interface nobody registered: not registered, no tower.
    dce = connect(port)
    try:
        epm.hept_map("127.0.0.1",
                     uuidtup_to_bin(("12345678-1234-abcd-ef00-0123456789ab", "1.0")),
                     protocol="ncacn_ip_tcp", dce=dce)
        fail("an unregistered interface was mapped")
    except DCERPCException as e:
        check(e.get_error_code() == 0x16c9a0d6,
              "unregistered interface: ept_s_not_registered")
    dce.disconnect()


def mode_rpcdump(epmap, sample, tmp):
    ns = "tether-epmap-%d" % os.getpid()
    script = os.path.join(EXAMPLES, "rpcdump.py")
    if not os.path.exists(script):
        gz = script + ".gz"
        if not os.path.exists(gz):
            fail("impacket's rpcdump.py is missing")
        script = os.path.join(tmp, "rpcdump.py")
        with gzip.open(gz, "rb") as i, open(script, "wb") as o:
            shutil.copyfileobj(i, o)
    r = subprocess.run(["ip", "netns", "add", ns])
    if r.returncode != 0:
        fail("cannot create network namespace %s (root needed)" % ns)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        sock = start_epmap(epmap, tmp, "0.0.0.0:135", 49152, ns)
        wait_listen("127.0.0.1", 135, ns)
        sport = start_sample(sample, sock, "ns-sample", ns)
        r = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3",
                            script, "127.0.0.1"],
                           capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        print(out)
        check(r.returncode == 0, "rpcdump.py exits 0")
        check("No endpoints found" not in out, "rpcdump finds endpoints")
        check(SAMPLE_UUID.upper() in out.upper(), "rpcdump lists the sample")
        check("ncacn_ip_tcp:127.0.0.1[%d]" % sport in out,
              "rpcdump shows the sample's port")
        check("ncacn_ip_tcp:127.0.0.1[135]" in out,
              "rpcdump shows the mapper itself")
        check("Received 2 endpoints" in out, "rpcdump counts 2 endpoints")
    finally:
        stop_all()
        subprocess.run(["ip", "netns", "del", ns])


def stop_all():
    # services first, so they can unregister from a mapper still up
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def mode_replay(epmap, sample, tmp, replay):
    port = free_port()
    sock = start_epmap(epmap, tmp, "127.0.0.1:%d" % port, 44000 + os.getpid() % 20000)
    wait_listen("127.0.0.1", port)
    r = subprocess.run([replay, "127.0.0.1", str(port), sock], timeout=100)
    check(r.returncode == 0, "the captures replay with the expected answers")


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__)
        return 2
    mode, epmap, sample = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="tether-epmap-")
    try:
        if mode == "replay":
            mode_replay(epmap, sample, tmp, sys.argv[4])
        else:
            {"lookup": mode_lookup, "map": mode_map,
             "rpcdump": mode_rpcdump}[mode](epmap, sample, tmp)
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
