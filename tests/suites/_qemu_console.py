"""One QEMU run whose COM1 is a unix socket this process reads (the guest's console, and the
monitor's prompts before the guest runs) and types into, with COM2 (the monitor's log) in a
file. Shared by the suites that talk to the console (unlock, ata_ide, ata_ahci, card_boot). With
`-monitor unix:<hmp_socket(work)>,server=on,wait=off` among its arguments, hmp() sends QEMU's
human monitor commands (keys on the PS/2 keyboard, memory reads) and vga_text() reads the
screen."""
import os
import socket
import subprocess
import time


def hmp_socket(work):
    """Where a run in work has QEMU's human monitor (pass it to -monitor as above)."""
    return os.path.join(work, "hmp.sock")


class QemuConsole:
    def __init__(self, work, qemu_args, timeout):
        """qemu_args: everything after the binary except the two serial ports. The run is
        wrapped in `timeout` and has its own process group, so a kill reaches QEMU itself."""
        self.work = work
        self.sock_path = os.path.join(work, "com1.sock")
        self.monlog = os.path.join(work, "monitor.log")
        self.qemu_err = os.path.join(work, "qemu.err")
        self.console = b""
        self.sock = None
        self.hmp_path = hmp_socket(work)
        self.hmp_sock = None
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        cmd = ["timeout", "-k", "5", str(timeout), "qemu-system-x86_64"] + list(qemu_args) + [
            "-chardev", "socket,id=com1,path=%s,server=on,wait=on" % self.sock_path,
            "-serial", "chardev:com1", "-serial", "file:" + self.monlog]
        with open(self.qemu_err, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.sock_path):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.sigkill()
                raise RuntimeError("QEMU did not open its COM1 socket (%s)" % self.stderr_tail())
            time.sleep(0.1)
        self.sock = socket.socket(socket.AF_UNIX)
        while True:
            try:
                self.sock.connect(self.sock_path)
                break
            except ConnectionRefusedError:  # the file exists from bind(); listen() comes next
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.sigkill()
                    raise
                time.sleep(0.05)
        self.sock.settimeout(0.5)

    def stderr_tail(self):
        with open(self.qemu_err, "rb") as f:
            return f.read()[-300:].decode("utf-8", "replace")

    def read_until(self, needle, seconds):
        end = time.monotonic() + seconds
        while needle not in self.console and time.monotonic() < end:
            try:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.console += data
            except socket.timeout:
                if self.proc.poll() is not None:
                    break
        return needle in self.console

    def type(self, text):
        self.sock.sendall(text.encode() + b"\r")

    def hmp(self, command):
        """One human-monitor command; returns its output."""
        if self.hmp_sock is None:
            self.hmp_sock = socket.socket(socket.AF_UNIX)
            self.hmp_sock.connect(self.hmp_path)
            self.hmp_sock.settimeout(10)
            self._hmp_read()  # the banner
        self.hmp_sock.sendall(command.encode() + b"\n")
        return self._hmp_read()

    def _hmp_read(self):
        out = b""
        while not out.endswith(b"(qemu) "):
            data = self.hmp_sock.recv(65536)
            if not data:
                break
            out += data
        return out.decode("utf-8", "replace")

    def vga_text(self):
        """The 80x25 text screen as a string (characters only)."""
        dump = os.path.join(self.work, "vga.bin")
        self.hmp("pmemsave 0xb8000 4000 \"%s\"" % dump)
        with open(dump, "rb") as f:
            cells = f.read()
        return cells[0::2].decode("latin-1")

    def wait_exit(self, seconds):
        """Reads the console until QEMU exits or `seconds` pass."""
        end = time.monotonic() + seconds
        while self.proc.poll() is None and time.monotonic() < end:
            self.read_until(b"\0never", 1)

    def sigkill(self):
        """SIGKILL to QEMU and `timeout` alike, as a power cut would."""
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass

    def kill(self):
        """Ends the run; returns the monitor's log. The console is kept in console.log."""
        self.sigkill()
        self.proc.wait()
        if self.sock:
            self.sock.close()
        if self.hmp_sock:
            self.hmp_sock.close()
        with open(os.path.join(self.work, "console.log"), "wb") as f:
            f.write(self.console)
        with open(self.monlog, "rb") as f:
            return f.read()

    def text(self):
        return self.console.decode("utf-8", "replace")
