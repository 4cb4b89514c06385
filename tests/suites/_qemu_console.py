"""One QEMU run whose COM1 is a unix socket this process reads (the guest's console, and the
monitor's prompts before the guest runs) and types into, with COM2 (the monitor's log) in a
file. Shared by the suites that talk to the console (unlock, ata_ide, ata_ahci)."""
import os
import socket
import subprocess
import time


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
        with open(os.path.join(self.work, "console.log"), "wb") as f:
            f.write(self.console)
        with open(self.monlog, "rb") as f:
            return f.read()

    def text(self):
        return self.console.decode("utf-8", "replace")
