#!/usr/bin/env python3
"""The EHCI mediator end to end (issues 16 and 17, docs/usb.md "EHCI"): one QEMU boot
(-machine pc, IDE boot disk) with a `usb-ehci` controller carrying a `usb-storage` stick that
holds a FAT file system made on the host and a `usb-kbd` (high speed: QEMU's usb-kbd is a USB 2
device by default and attaches to a root port of a plain usb-ehci, no hub or companion needed),
without thinvisor.conf (so every USB device is allowed and the monitor mediates the
controller). The unmodified Linux guest loads ehci_pci, usb_storage and usbhid under the
monitor, which gives the controller only its shadows of the guest's asynchronous schedule and
periodic schedule.

Checks, from that one boot (`usb-ehci` prefixes each name):
- enumerates: the guest sees the stick as a SCSI disk behind the EHCI controller;
- file-read-write: the guest mounts the stick, reads the file the host put there, writes a
  file of its own and 4 MiB of random data, unmounts, mounts again with the page cache dropped
  and reads the same sha256 back; the host then finds the guest's file and data in the image;
- keys: the host types 'a' and 'b' with QEMU's sendkey (a human monitor on a socket) and the
  guest reads exactly those key presses from the keyboard's hidraw node: the keyboard's
  interrupt transfers ran from the monitor's shadow of the periodic schedule, whose power-off
  counters show its queue head and completions;
- mediated: the monitor took the controller (`ehci BDF: mediated`), and its power-off counters
  show the syncs, queue heads and qTDs it copied and checked, with no refusal logged but the
  attack's;
- hostile-qtds-refused: then a hostile program (tests/suites/_usb_ehci_attack.c, built static
  here and handed to the guest through fw_cfg) unbinds ehci-pci and drives the controller by
  hand: after a port reset, a GET_DESCRIPTOR whose Data Stage qTD's IN buffer is the monitor's
  first page (the Setup runs, the Data Stage comes back halted, never run), and a QH whose
  horizontal link points into the monitor. Both are refused and logged, and the
  monitor lives on to log the power-off;
- hostile-periodic-refused: the same program then runs a periodic schedule whose every frame
  list entry is a QH in the monitor: refused and logged, and the monitor lives on.

Prints `PASS name` / `FAIL name: why`; exits 1 on any failure. --only SUBSTRING picks tests
(all checks share the boot, which runs when any is picked)."""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
import qemu_run  # noqa: E402

MONITOR = os.path.join(ROOT, "build", "thinvisor.elf")
DISK = os.path.join(ROOT, "build", "guest", "disk.img")
STICK_MIB = 32
HOST_TEXT = "TVEHCI host file 5f3a\n"
TIMEOUT = 600  # TCG under load: the boot is 1-3 minutes

GUEST_SCRIPT = r"""
for m in ehci_pci usb_storage vfat nls_cp437 nls_iso8859_1 usbhid hid_generic; do modprobe $m || echo "TV-CHECK FAIL: modprobe $m"; done
dev=
i=0
while [ $i -lt 120 ] && [ -z "$dev" ]; do
    for b in /sys/block/sd*; do
        case "$(readlink -f $b)" in *usb*) dev=/dev/${b##*/} ;; esac
    done
    [ -z "$dev" ] && sleep 0.5
    i=$((i + 1))
done
if [ -n "$dev" ]; then echo "TV-CHECK ok: usb-disk $dev $(readlink -f /sys/block/${dev#/dev/} | grep -o 'usb[0-9]*' | head -1)"
else echo "TV-CHECK FAIL: usb-disk: none after 60 s"; fi
if [ -n "$dev" ]; then
    mkdir -p /mnt/stick
    if mount -t vfat $dev /mnt/stick; then
        echo "TV-EHCI-HOST-FILE $(cat /mnt/stick/HOST.TXT)"
        echo "TVEHCI guest file $$" > /mnt/stick/GUEST.TXT
        dd if=/dev/urandom of=/mnt/stick/DATA.BIN bs=65536 count=64 2>/dev/null
        echo "TV-EHCI-WROTE $(sha256sum /mnt/stick/DATA.BIN | cut -d' ' -f1)"
        umount /mnt/stick
        echo 3 > /proc/sys/vm/drop_caches
        mount -t vfat $dev /mnt/stick && echo "TV-EHCI-READ $(sha256sum /mnt/stick/DATA.BIN | cut -d' ' -f1)"
        echo "TV-EHCI-GUEST-FILE $(cat /mnt/stick/GUEST.TXT)"
        umount /mnt/stick
    else
        echo "TV-CHECK FAIL: file-read-write: mount failed"
    fi
fi
# Keys: the host types 'a' and 'b' with QEMU's sendkey once it sees READY; the keyboard's
# interrupt transfers carry them through the periodic schedule's shadow to its hidraw node,
# read here as raw 8-byte boot-protocol reports (the key's HID usage in byte 2).
raw=
i=0
while [ $i -lt 60 ] && [ -z "$raw" ]; do
    for h in /sys/class/hidraw/hidraw*; do
        grep -q "HID_NAME=QEMU QEMU USB Keyboard" $h/device/uevent 2>/dev/null && raw=/dev/${h##*/}
    done
    [ -z "$raw" ] && sleep 0.5
    i=$((i + 1))
done
if [ -n "$raw" ]; then
    timeout 60 dd if=$raw of=/tmp/keys bs=8 count=4 2>/dev/null &
    reader=$!
    sleep 1
    echo "TV-EHCI-KBD-READY"
    wait $reader
    echo "TV-EHCI-KEYS $(od -An -tu1 -w8 /tmp/keys | awk '$3 != 0 {printf "%s ", $3}')"
else
    echo "TV-CHECK FAIL: keys: no hidraw node for the keyboard after 30 s"; cat /proc/bus/input/devices
fi
dmesg | grep -i -E 'ehci|usb [0-9]|usb-storage|hid|error' | tail -25
echo "TV-EHCI-ATTACK begin"
base=$(thinvisor-ctl range | cut -d' ' -f1)
cat /sys/firmware/qemu_fw_cfg/by_name/opt/thinvisor/ehci-attack/raw > /tmp/ea && chmod +x /tmp/ea && /tmp/ea "$base"
echo "TV-EHCI-ATTACK done"
"""

CHECKS = ["enumerates", "file-read-write", "keys", "mediated", "hostile-qtds-refused", "hostile-periodic-refused"]
KEYS = {"a": 4, "b": 5}  # what sendkey types, and the HID usages the guest must read
ATTACK_SRC = os.path.join(HERE, "_usb_ehci_attack.c")
ATTACK_REFUSALS = (r"ehci \S+: refused async schedule: qTD buffer outside guest memory",
                   r"ehci \S+: refused async schedule: queue head outside guest memory")
PERIODIC_REFUSAL = r"ehci \S+: refused periodic schedule: queue head outside guest memory"


def make_stick(work):
    stick = os.path.join(work, "stick.img")
    subprocess.run(["mkfs.fat", "-C", "-n", "TVEHCI", stick, str(STICK_MIB * 1024)], check=True,
                   stdout=subprocess.DEVNULL)
    host = os.path.join(work, "host.txt")
    with open(host, "w") as f:
        f.write(HOST_TEXT)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(["mcopy", "-i", stick, host, "::/HOST.TXT"], check=True, env=env)
    return stick


def boot(work):
    stick = make_stick(work)
    script = os.path.join(work, "usb.sh")
    with open(script, "w") as f:
        f.write(GUEST_SCRIPT)
    attack = os.path.join(work, "ehci-attack")
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", attack, ATTACK_SRC], check=True)
    hmp = os.path.join(work, "hmp.sock")
    extra = ["-fw_cfg", "name=opt/thinvisor/ehci-attack,file=%s" % attack,
             "-device", "usb-ehci,id=ehci",
             "-drive", "file=%s,format=raw,if=none,id=stick" % stick,
             "-device", "usb-storage,bus=ehci.0,drive=stick,serial=TVEHCI0001",
             "-device", "usb-kbd,bus=ehci.0",
             "-monitor", "unix:%s,server=on,wait=off" % hmp]
    cmd = qemu_run.qemu_command("pc", "max", "512M", MONITOR, None, DISK, script,
                                "file:" + os.path.join(work, "console.log"),
                                "file:" + os.path.join(work, "monitor.log"), extra)
    stop = threading.Event()
    typist = threading.Thread(target=type_keys, args=(work, hmp, stop), daemon=True)
    typist.start()
    try:
        with open(os.path.join(work, "qemu.log"), "wb") as ql:
            rc = subprocess.run(["timeout", "-k", "5", str(TIMEOUT)] + cmd, stdin=subprocess.DEVNULL, stdout=ql,
                                stderr=subprocess.STDOUT).returncode
    finally:
        stop.set()
        typist.join(10)
    return {"exit_code": rc, "timed_out": rc in (124, 137)}, stick


def type_keys(work, hmp, stop):
    """Types KEYS with sendkey on QEMU's human monitor once the guest prints its READY."""
    while "TV-EHCI-KBD-READY" not in read(work, "console.log"):
        if stop.wait(0.5):
            return
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(hmp)
            for k in KEYS:
                time.sleep(0.5)
                s.sendall(("sendkey %s\n" % k).encode())
            time.sleep(1)
    except OSError:
        return


def read(work, name):
    try:
        with open(os.path.join(work, name), "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def mtype(stick, name):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    r = subprocess.run(["mtype", "-i", stick, "::/" + name], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       env=env)
    return r.stdout if r.returncode == 0 else None


def judge(result, work, stick):
    con, mon = read(work, "console.log"), read(work, "monitor.log")
    run = []
    if result.get("timed_out") or result.get("exit_code") != 0:
        run = ["the boot did not end cleanly: %s" % result]
    fails = [l.strip()[:200] for l in con.splitlines() if "TV-CHECK FAIL" in l]
    p = {c: list(run) for c in CHECKS}
    if "TV-CHECK ok: usb-disk" not in con:
        p["enumerates"].append("missing 'TV-CHECK ok: usb-disk'")
    p["enumerates"] += [f for f in fails if "usb-disk" in f or "modprobe" in f]
    f = p["file-read-write"]
    f += [x for x in fails if "file-read-write" in x]
    if "TV-EHCI-HOST-FILE %s" % HOST_TEXT.strip() not in con:
        f.append("the guest did not read the host's file")
    wrote = re.search(r"^TV-EHCI-WROTE ([0-9a-f]{64})", con, re.M)
    back = re.search(r"^TV-EHCI-READ ([0-9a-f]{64})", con, re.M)
    guest_file = re.search(r"^TV-EHCI-GUEST-FILE (TVEHCI guest file \d+)", con, re.M)
    if not wrote or not back:
        f.append("the guest printed no checksums")
    elif wrote.group(1) != back.group(1):
        f.append("the guest read back %s, wrote %s" % (back.group(1), wrote.group(1)))
    if not guest_file:
        f.append("the guest did not read its own file back")
    else:
        got = mtype(stick, "GUEST.TXT")
        if got is None or got.decode("utf-8", "replace").strip() != guest_file.group(1):
            f.append("the image's GUEST.TXT is %r, not the guest's %r" % (got, guest_file.group(1)))
    if wrote:
        import hashlib
        data = mtype(stick, "DATA.BIN")
        if data is None or hashlib.sha256(data).hexdigest() != wrote.group(1):
            f.append("the image's DATA.BIN does not hold what the guest wrote")
    keys = re.search(r"^TV-EHCI-KEYS(.*)$", con, re.M)
    got = keys.group(1).split() if keys else []
    if not keys:
        p["keys"].append("the guest read no keys")
    elif sorted(int(k) for k in got) != sorted(KEYS.values()):
        p["keys"].append("the guest read HID usages %s, not %s" % (got, sorted(KEYS.values())))
    p["keys"] += [x for x in fails if "keys" in x]
    per = re.search(r"ehci \S+: periodic: (\d+) syncs, (\d+) queue heads linked, (\d+) qTDs given, (\d+) completed, "
                    r"(\d+) iTDs/siTDs/FSTNs skipped, (\d+) refused", mon)
    if not per:
        p["keys"].append("no periodic counter line at power-off")
    else:
        psyncs, pqhs, pqtds, pdone, pskipped, prefused = map(int, per.groups())
        if pqhs < 1 or pdone < 2:
            p["keys"].append("periodic counters too low for a keyboard's reports: %s" % per.group(0))
        if prefused < 1:
            p["hostile-periodic-refused"].append("the periodic counters show no refusal: %s" % per.group(0))
    m = p["mediated"]
    if not re.search(r"ehci 00:[0-9a-f]{2}\.\d: mediated", mon):
        m.append("the monitor did not log taking the controller")
    k = re.search(r"ehci \S+: (\d+) syncs \((\d+) ticks\), (\d+) queue heads linked, (\d+) qTDs given, (\d+) completed, "
                  r"(\d+) doorbells, (\d+) refused", mon)
    if not k:
        m.append("no counter line at power-off")
    else:
        syncs, ticks, qhs, qtds, done, doorbells, refused = map(int, k.groups())
        if qhs < 2 or qtds < 100 or done < 100:
            m.append("counters too low for an enumeration and 4 MiB: %s" % k.group(0))
        if refused < 2:
            p["hostile-qtds-refused"].append("the counters show %d refusals, not the attack's two" % refused)
    others = [l.strip() for l in mon.splitlines()
              if re.search(r"ehci \S+: refused", l)
              and not any(re.search(a, l) for a in ATTACK_REFUSALS + (PERIODIC_REFUSAL,))]
    if others:
        m.append("refusals logged: %s" % " | ".join(others[:3])[:300])
    h = p["hostile-qtds-refused"]
    attack = con.split("TV-EHCI-ATTACK begin", 1)[-1]
    tok = re.search(r"TV-EHCI-ATTACK buffer-into-monitor: sent; setup (ran|not run); token ([0-9a-f]{8}) \(([a-z ]+)\)",
                    attack)
    if not tok or "TV-EHCI-ATTACK qh-link-into-monitor: sent" not in attack:
        h.append("the attack did not run: %s" % re.findall(r"TV-EHCI-ATTACK.*", con)[:6])
    elif tok.group(1) != "ran" or tok.group(3) != "halted":
        h.append("the Setup stage %s, the Data Stage into the monitor came back %s (token %s): want the Setup run "
                 "and the Data Stage halted" % (tok.group(1), tok.group(3), tok.group(2)))
    for want in ATTACK_REFUSALS:
        if not re.search(want, mon):
            h.append("no '%s' in monitor.log" % want.replace("\\S+", "BDF").replace("\\", ""))
    if "power-off" not in mon:
        h.append("the monitor did not log the power-off (did it survive?)")
    hp = p["hostile-periodic-refused"]
    if "TV-EHCI-ATTACK periodic-entry-into-monitor: sent" not in attack:
        hp.append("the periodic attack did not run: %s" % re.findall(r"TV-EHCI-ATTACK periodic.*", con)[:2])
    if not re.search(PERIODIC_REFUSAL, mon):
        hp.append("no '%s' in monitor.log" % PERIODIC_REFUSAL.replace("\\S+", "BDF").replace("\\", ""))
    if "power-off" not in mon:
        hp.append("the monitor did not log the power-off (did it survive?)")
    if "thinvisor-guest: up" not in con and any(p.values()):
        for c in CHECKS:
            p[c].append("the guest never came up (monitor.log ends: %s)"
                        % " | ".join(mon.strip().splitlines()[-2:])[:200])
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="checks whose name contains one of these (comma-separated)")
    ap.add_argument("--list", action="store_true", help="list the checks and exit")
    args = ap.parse_args()
    names = ["usb-ehci.%s" % c for c in CHECKS]
    if args.list:
        print("\n".join(names))
        return 0
    only = [x for x in (args.only or "").split(",") if x]
    picked = [n for n in names if not only or any(x in n for x in only)]
    if not picked:
        return 0
    for need in (MONITOR, DISK):
        if not os.path.exists(need):
            for n in picked:
                print("FAIL %s: %s is missing (make, make guest)" % (n, need))
            return 1
    with tempfile.TemporaryDirectory() as work:
        result, stick = boot(work)
        problems = judge(result, work, stick)
        failed = 0
        for n in picked:
            why = problems[n.split(".", 1)[1]]
            print(("FAIL %s: %s" % (n, "; ".join(why))) if why else ("PASS %s" % n), flush=True)
            failed += 1 if why else 0
        if failed:
            keep = os.path.join(ROOT, "build", "test-results", "usb-ehci")
            os.makedirs(keep, exist_ok=True)
            for name in ("monitor.log", "console.log", "qemu.log"):
                if os.path.exists(os.path.join(work, name)):
                    shutil.copy(os.path.join(work, name), keep)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
