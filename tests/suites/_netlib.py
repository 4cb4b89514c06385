"""Shared pieces of the network suites (not a suite itself: the leading _ makes the runner skip it).

- Net: a private network namespace holding a tap device (names carry this process's PID), an
  address on the host side of the tap, daemons started inside it, and cleanup on every exit
  path (try/finally by the caller, atexit, SIGINT/SIGTERM/SIGHUP).
- Guest: QEMU (run inside the namespace, under `timeout`) booting build/guest/disk.img under
  thinvisor: COM1 on a Unix socket is the guest's console, COM2 in a file is the monitor's log.
  With no script the guest's init gives a shell on the console; `run()` types a command and
  returns its output and exit status.
- udhcpd(): busybox udhcpd serving the tap. RawSocket: AF_PACKET frames on the tap.

Typical use:
    net = Net("nic"); net.setup()
    try:
        net.udhcpd()
        g = Guest(net, work_dir, conf_text=..., machine="q35", guest_mac="52:54:00:12:34:56")
        out, rc = g.run("udhcpc -i eth0 -n -q", 60)
    finally:
        net.cleanup()
"""
import atexit
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITOR = os.environ.get("TV_MONITOR_ELF") or os.path.join(ROOT, "build", "thinvisor.elf")
DISK = os.path.join(ROOT, "build", "guest", "disk.img")
PID = os.getpid()

_LIBC = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


def _setns(fd):
    """os.setns exists only from Python 3.12."""
    if _LIBC.setns(fd, _CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


_ALL = []  # every Net alive, for the atexit/signal cleanup


def _cleanup_all():
    for n in list(_ALL):
        n.cleanup()


def _on_signal(signum, _frame):
    _cleanup_all()
    os._exit(128 + signum)


atexit.register(_cleanup_all)
for _s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_s, _on_signal)


def sh(*cmd, check=True, timeout=20):
    """Runs a command under `timeout`; its output, or RuntimeError naming it when it fails."""
    r = subprocess.run(["timeout", str(timeout)] + list(cmd), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stdout.strip()))
    return r.stdout


def kill_group(p):
    """Kills a process started with start_new_session=True, with everything it started."""
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


class Net:
    """Namespace tv<tag><pid> with tap tvt<tag><pid> whose host side has `host_ip`/24."""

    def __init__(self, tag, host_ip="10.77.0.1", prefix=24):
        self.tag = tag
        self.ns = ("tv%s%d" % (tag, PID))[:15]
        self.tap = ("tvt%s%d" % (tag, PID))[:15]
        self.host_ip, self.prefix = host_ip, prefix
        self.procs = []
        self.tmp = None
        self.up = False

    def sh(self, *cmd, check=True, timeout=20):
        return sh(*cmd, check=check, timeout=timeout)

    def nsexec(self):
        return ["ip", "netns", "exec", self.ns]

    def setup(self):
        self.tmp = tempfile.mkdtemp(prefix="tvnet%s%d-" % (self.tag, PID))
        self.up = True
        _ALL.append(self)
        self.sh("ip", "netns", "add", self.ns)
        self.sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        self.sh("ip", "-n", self.ns, "tuntap", "add", "dev", self.tap, "mode", "tap")
        self.sh("ip", "-n", self.ns, "addr", "add", "%s/%d" % (self.host_ip, self.prefix), "dev", self.tap)
        self.sh("ip", "-n", self.ns, "link", "set", self.tap, "up")
        return self

    def path(self, name):
        return os.path.join(self.tmp, name)

    def spawn(self, cmd, limit, log_name=None, **kw):
        """A process in the namespace, under timeout, in its own process group."""
        out = open(self.path(log_name), "ab") if log_name else subprocess.DEVNULL
        p = subprocess.Popen(self.nsexec() + ["timeout", "--kill-after=2", str(limit)] + list(cmd),
                             stdout=out, stderr=subprocess.STDOUT if log_name else subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL, start_new_session=True, **kw)
        if log_name:
            out.close()
        self.procs.append(p)
        return p

    @staticmethod
    def kill(p):
        kill_group(p)

    def socket(self, family, kind, proto=0):
        """A socket created inside the namespace (usable from this process)."""
        fd = os.open("/var/run/netns/%s" % self.ns, os.O_RDONLY)
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            _setns(fd)
            return socket.socket(family, kind, proto)
        finally:
            _setns(own)
            os.close(fd)
            os.close(own)

    def udhcpd(self, first="10.77.0.50", last="10.77.0.60", limit=1800):
        """busybox udhcpd on the tap; the lease file lives in our temp dir."""
        conf = self.path("udhcpd.conf")
        with open(conf, "w") as f:
            f.write("start %s\nend %s\ninterface %s\nlease_file %s\npidfile %s\n"
                    "option subnet 255.255.255.0\noption router %s\noption lease 3600\n"
                    % (first, last, self.tap, self.path("udhcpd.leases"), self.path("udhcpd.pid"), self.host_ip))
        open(self.path("udhcpd.leases"), "w").close()
        return self.spawn(["busybox", "udhcpd", "-f", conf], limit, "udhcpd.log")

    def cleanup(self):
        if not self.up:
            return
        self.up = False
        if self in _ALL:
            _ALL.remove(self)
        for p in self.procs:
            self.kill(p)
        # Anything still inside our own namespace was started by this suite.
        out = subprocess.run(["timeout", "5", "ip", "netns", "pids", self.ns], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout
        for pid in out.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["timeout", "10", "ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


class RawSocket:
    """AF_PACKET on the tap inside the namespace (the socket is created there, then used here)."""

    def __init__(self, net, ethertype):
        self.s = net.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
        self.s.bind((net.tap, ethertype))
        self.mac = self.s.getsockname()[4]

    def send(self, frame):
        return self.s.send(frame)

    def recv(self, timeout):
        """One incoming frame (outgoing copies skipped), or None after timeout seconds."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                pkt, addr = self.s.recvfrom(65536)
            except socket.timeout:
                return None
            if addr[2] != socket.PACKET_OUTGOING:
                return pkt

    def close(self):
        self.s.close()


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


class Guest:
    """The demo guest under thinvisor (or bare with monitor=False) on the net's tap."""

    def __init__(self, net, work, conf_text=None, machine="pc", guest_mac="52:54:00:12:34:56",
                 append=None, timeout=900, nic="e1000", monitor=True, mem="512M", extra=(), disk=DISK,
                 script=None, modules=()):
        """disk: the boot image (snapshot=on; None: no disk); script: a guest script passed as
        fw_cfg opt/thinvisor/script (the guest runs it and powers off; without one it gives a
        shell); modules: more boot-module files after thinvisor.conf (e.g. keyslot files)."""
        self.work = work
        self.sock_path = os.path.join(work, "com1.sock")
        self.monlog = os.path.join(work, "monitor.log")
        self.hmp_path = os.path.join(work, "hmp.sock")  # QEMU's monitor: cpu_state() reads it
        self.dumps = 0
        self.console = b""
        self.seq = 0
        for path in (self.sock_path, self.hmp_path):
            if os.path.exists(path):
                os.unlink(path)
        cmd = ["qemu-system-x86_64", "-accel", "tcg", "-machine", machine, "-cpu", "max", "-m", mem,
               "-display", "none", "-monitor", "unix:%s,server=on,wait=off" % self.hmp_path,
               "-no-reboot", "-nodefaults", "-vga", "std",
               "-chardev", "socket,id=com1,path=%s,server=on,wait=on" % self.sock_path,
               "-serial", "chardev:com1", "-serial", "file:" + self.monlog,
               "-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % net.tap,
               "-device", "%s,netdev=n0,mac=%s" % (nic, guest_mac)] + list(extra)
        # TV_QEMU_EXTRA: more QEMU options for every guest of a suite run by hand (e.g.
        # "-gdb tcp::1234", to look at a vCPU that hangs).
        cmd += os.environ.get("TV_QEMU_EXTRA", "").split()
        if disk:
            cmd += ["-drive", "file=%s,format=raw,snapshot=on" % disk.replace(",", ",,")]
        if script:
            cmd += ["-fw_cfg", "name=opt/thinvisor/script,file=%s" % script.replace(",", ",,")]
        if monitor:
            cmd += ["-kernel", MONITOR]
            # TV_MONITOR_APPEND: a monitor command line for every guest of a suite run by hand
            # (e.g. svm_clock=off, to see net-monitor-latency fail without the AMD-V clock).
            append = append or os.environ.get("TV_MONITOR_APPEND")
            if append:
                cmd += ["-append", append]
            if conf_text is not None:
                conf = os.path.join(work, "thinvisor.conf")
                with open(conf, "w") as f:
                    f.write(conf_text)
                cmd += ["-initrd", ",".join([conf] + list(modules))]
        self.started = time.monotonic()  # benches time the boot from here
        self.proc = net.spawn(cmd, timeout, None)
        self.sock = self._connect(time.monotonic() + 30)
        self.sock.settimeout(0.5)

    def _connect(self, deadline):
        """COM1's socket, once QEMU listens on it. The file appears at QEMU's bind(), before
        its listen(): a connect in between is refused (and one before the bind finds no file),
        so both are retried until the deadline or until QEMU is gone."""
        while True:
            sock = socket.socket(socket.AF_UNIX)
            try:
                sock.connect(self.sock_path)
                return sock
            except (ConnectionRefusedError, FileNotFoundError):
                sock.close()
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("QEMU did not listen on its COM1 socket")
                time.sleep(0.05)

    def read_until(self, needle, seconds):
        """Reads the console until `needle` (bytes or compiled regex) appears in it."""
        if not hasattr(needle, "search"):
            needle = re.compile(re.escape(needle))
        return bool(self.wait_for(needle, seconds))

    def wait_for(self, pattern, seconds):
        """The first match of `pattern` (a bytes regex) in the console, reading until it
        appears, the time is up or QEMU is gone (then None)."""
        rx = re.compile(pattern)
        end = time.monotonic() + seconds
        while True:
            m = rx.search(self.console)
            if m or time.monotonic() > end:
                return m
            try:
                data = self.sock.recv(65536)
                if not data:
                    return rx.search(self.console)
                self.console += data
            except socket.timeout:
                if self.proc.poll() is not None:
                    return rx.search(self.console)

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def wait_shell(self, seconds=240):
        return self.read_until(b"starting a shell", seconds)

    def run(self, command, seconds=60):
        """Types `command` at the guest's shell; returns (output, exit status or None on timeout).
        The start and end markers are computed by the shell, so the echoed input never matches."""
        self.seq += 1
        start = len(self.console)
        self.sock.sendall(("echo __TVS$((%d+0))__; %s; echo __TV$((%d+0))_$?__\n"
                           % (self.seq, command, self.seq)).encode())
        pat = re.compile(rb"__TV%d_(\d+)__" % self.seq)
        if not self.read_until(pat, seconds):
            self.dump_cpu_state("command %d timed out after %d s: %s" % (self.seq, seconds, command[:200]))
            return self.console[start:].decode("utf-8", "replace"), None
        m = pat.search(self.console, start)
        s = self.console.find(b"__TVS%d__" % self.seq, start)
        text = self.console[s + len(b"__TVS%d__" % self.seq):m.start()].decode("utf-8", "replace")
        return text.replace("\r", "").strip("\n"), int(m.group(1))

    def hmp(self, commands, seconds=5):
        """Runs QEMU monitor commands; their output ("" when the monitor does not answer)."""
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(seconds)
            s.connect(self.hmp_path)
        except OSError as e:
            return "(QEMU's monitor: %s)\n" % e
        out = b""
        try:
            s.sendall("".join(c + "\n" for c in commands).encode())
            end = time.monotonic() + seconds
            s.settimeout(0.5)
            while time.monotonic() < end:
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    if out.count(b"(qemu)") > len(commands):
                        break
                    continue
                if not data:
                    break
                out += data
        finally:
            s.close()
        # The monitor's line editor echoes each keystroke with cursor moves: keep the command.
        text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out.decode("utf-8", "replace"))
        return re.sub(r"\(qemu\) [^\n]*?(%s)\r?\n" % "|".join(re.escape(c) for c in commands), r"(qemu) \1\n", text)

    def dump_cpu_state(self, why, samples=3, gap=1.0):
        """When a guest command hangs: where the CPU is (guest or monitor: the RIP against
        `nm build/thinvisor.elf`, the guest's RFLAGS.IF), its local APIC (IRR/ISR/TPR) and 8259,
        and the monitor's SVM state (the VMCB's control area and the vCPU object, at the
        addresses of the `svm: vcpu N: VMCB at` line), a few samples apart, with how long the
        monitor has been silent. Written to cpu-state-N.txt in the work directory; the first
        three hangs of a boot only."""
        if self.dumps >= 3 or self.proc.poll() is not None:
            return
        self.dumps += 1
        log = self.monitor_log()
        extra = []
        for vcpu, vmcb, obj in re.findall(r"svm: vcpu (\d+): VMCB at (0x[0-9a-f]+), its state at (0x[0-9a-f]+)", log):
            extra += ["xp /32gx %s" % vmcb, "xp /2gx %s" % hex(int(vmcb, 16) + 0x570), "xp /64gx %s" % obj]
        try:
            silent = time.time() - os.path.getmtime(self.monlog)
        except OSError:
            silent = -1
        text = ["%s\nmonitor log: %d bytes, last line written %.0f s ago: %r\n"
                % (why, len(log), silent, log.rstrip().splitlines()[-1:] if log else "")]
        for i in range(samples):
            if i:
                time.sleep(gap)
            text.append("=== sample %d at %.1f s\n" % (i, time.monotonic() - self.started))
            # The code at RIP and the stack in the CPU's current mode (the guest's, when it runs
            # there): the loop a frozen guest sits in (an in/out, a pause, a HLT) and its callers.
            text.append(self.hmp(["info registers", "x /16i $pc", "x /32gx $sp", "info lapic", "info pic"]
                                 + (extra if i == 0 else [])))
        text.append(self.interrupted_frame(text[1] if len(text) > 1 else ""))
        with open(os.path.join(self.work, "cpu-state-%d.txt" % self.dumps), "w") as f:
            f.write("".join(text))

    def interrupted_frame(self, sample):
        """A guest frozen inside an interrupt handler (issue 11: twice spinning on ttyS0's port
        lock on its IRQ stack with interrupts off): Linux keeps the interrupted context's stack
        pointer at the top of its IRQ stack, whose address call_on_irqstack leaves in R11. The
        stack there holds the interrupt frame (RIP, CS, RFLAGS: was IF set when it came?)."""
        regs = dict(re.findall(r"\b(RIP|RSP|R11)\s*=([0-9a-f]{16})", sample))
        if not all(k in regs for k in ("RIP", "RSP", "R11")):
            return ""
        rip, rsp, r11 = (int(regs[k], 16) for k in ("RIP", "RSP", "R11"))
        if rip < 0xffff800000000000 or not (0 <= r11 - rsp < 0x4000):
            return ""
        top = self.hmp(["x /1gx 0x%x" % r11])
        m = re.search(r"0x?[0-9a-f]+:\s+0x([0-9a-f]{16})", top)
        saved = self.hmp(["x /48gx 0x%s" % m.group(1)]) if m else ""
        return "=== the interrupted context's stack (top of the IRQ stack at R11)\n" + top + saved

    def dhcp(self, seconds=60):
        """udhcpc on eth0 with a script that configures the lease; returns the address or None."""
        out, rc = self.run("ip link set eth0 up; echo '#!/bin/sh' > /tmp/dhcp.sh; "
                           "echo '[ \"$1\" = bound ] && ip addr add $ip/${mask:-24} dev $interface; exit 0' "
                           ">> /tmp/dhcp.sh; chmod +x /tmp/dhcp.sh; "
                           "udhcpc -i eth0 -n -q -t 10 -T 2 -s /tmp/dhcp.sh 2>&1", seconds)
        m = re.search(r"lease of ([0-9.]+) obtained", out)
        return m.group(1) if rc == 0 and m else None

    def power_off(self, seconds=60):
        try:
            self.sock.sendall(b"exit\n")
        except OSError:
            pass
        self.read_until(b"thinvisor-guest: power-off", seconds)
        end = time.monotonic() + 30
        while self.proc.poll() is None and time.monotonic() < end:
            time.sleep(0.2)
        return self.kill()

    def kill(self):
        Net.kill(self.proc)
        try:
            self.sock.close()
        except OSError:
            pass
        return self.monitor_log()

    def monitor_log(self):
        try:
            with open(self.monlog, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def save_console(self, name="console.log"):
        with open(os.path.join(self.work, name), "wb") as f:
            f.write(self.console)


class SyslogListener(threading.Thread):
    """UDP syslog receiver on the host side of the tap: the monitor's log export."""

    def __init__(self, net, port):
        super().__init__(daemon=True)
        self.s = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((net.host_ip, port))
        self.s.settimeout(0.5)
        self.msgs, self.stop = [], threading.Event()
        self.lock = threading.Lock()

    def run(self):
        while not self.stop.is_set():
            try:
                data, _ = self.s.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs.append(data.decode("utf-8", "replace"))

    def wait_for(self, pattern, seconds):
        end = time.monotonic() + seconds
        rx = re.compile(pattern)
        while time.monotonic() < end:
            with self.lock:
                for m in self.msgs:
                    hit = rx.search(m)
                    if hit:
                        return hit
            time.sleep(0.5)
        return None

    def close(self):
        self.stop.set()
        self.join(5)
        self.s.close()


def unbidden_problems(work):
    """Every monitor.log a case left: an interrupt the CPU gave the guest behind the monitor's
    back (QEMU 7.2's second delivery of an EVENTINJ interrupt, docs/architecture.md) fails it."""
    found = []
    for d, _, files in os.walk(work):
        for f in files:
            if f == "monitor.log":
                with open(os.path.join(d, f), errors="replace") as fh:
                    m = re.search(r"svm: the guest got vector .* that the monitor did not hand over.*", fh.read())
                if m:
                    found.append("%s: %s" % (os.path.relpath(os.path.join(d, f), work), m.group(0)))
    return found


def run_suite(suite, description, cases, logs):
    """The main() of a network suite: `cases` is a list of (name, fn) where fn(work) returns
    (problems, notes); each case gets a fresh log folder logs/<name> and prints one
    `PASS <suite>-<name> ...` or `FAIL <suite>-<name>: ...` line. Returns the exit status."""
    import argparse
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("FAIL %s: needs root (network namespaces, tap, raw sockets)" % suite)
        return 1
    for f in (MONITOR, DISK):
        if not os.path.exists(f):
            print("FAIL %s: %s missing (make; make guest)" % (suite, f))
            return 1
    failed = 0
    for case, fn in cases:
        name = "%s-%s" % (suite, case)
        if args.only and args.only not in name:
            continue
        work = os.path.join(logs, case)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        problems, notes = fn(work)
        if problems is not None:
            problems = problems + unbidden_problems(work)
        if problems is None:  # a case that cannot run here: SKIP with its reason (counted as skipped)
            print("SKIP %s: %s" % (name, "; ".join(notes)), flush=True)
        elif problems:
            failed += 1
            print("FAIL %s: %s (logs in %s)" % (name, "; ".join(problems), work), flush=True)
        else:
            print("PASS %s %s" % (name, ", ".join(notes)), flush=True)
    return 1 if failed else 0
