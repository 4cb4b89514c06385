#!/bin/sh
# Builds thinvisor_VERSION_amd64.deb from the built tree with Debian's own dpkg-deb, without
# root (--root-owner-group makes every file root's). Called by `make deb`.
#   packaging/build-deb.sh BUILD_DIR OUT_DIR
# The version is the first line of packaging/debian/changelog.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$1
OUT=$2
P=$ROOT/packaging
VERSION=$(sed -n '1s/^thinvisor (\([^)]*\)).*/\1/p' "$P/debian/changelog")
[ -n "$VERSION" ] || { echo "build-deb: no version in packaging/debian/changelog" >&2; exit 1; }
S=$OUT/stage
rm -rf "$S"
mkdir -p "$S/DEBIAN" "$S/boot/thinvisor" "$S/usr/sbin" "$S/usr/lib/thinvisor" "$S/etc/grub.d" \
    "$S/etc/thinvisor" "$S/etc/default" "$S/usr/share/man/man5" "$S/usr/share/man/man8" \
    "$S/usr/share/doc/thinvisor" "$S/usr/share/lintian/overrides"

install -m 0644 "$B/thinvisor.elf" "$S/boot/thinvisor/thinvisor.elf"
strip --strip-all "$S/boot/thinvisor/thinvisor.elf"  # the symbols are not loaded by multiboot anyway
python3 "$ROOT/mk/check_image.py" "$S/boot/thinvisor/thinvisor.elf" >/dev/null
install -m 0644 "$B/thinvisor.efi" "$S/usr/lib/thinvisor/thinvisor.efi"
install -m 0755 "$ROOT/tools/thinvisor-install-efi" "$S/usr/lib/thinvisor/thinvisor-install-efi"
for t in thinvisor-disk thinvisor-policy thinvisor-enroll; do
    install -m 0755 "$B/tools/$t" "$S/usr/sbin/$t"
    strip --remove-section=.comment --remove-section=.note "$S/usr/sbin/$t"
done
install -m 0755 "$OUT/thinvisor-ctl" "$S/usr/sbin/thinvisor-ctl"
install -m 0755 "$P/sbin/thinvisor-boot" "$S/usr/sbin/thinvisor-boot"
install -m 0755 "$P/grub/42_thinvisor" "$S/etc/grub.d/42_thinvisor"
install -m 0600 "$P/thinvisor.conf" "$S/etc/thinvisor/thinvisor.conf"
install -m 0644 "$P/default-thinvisor" "$S/etc/default/thinvisor"
for m in "$P"/man/*.[58]; do
    sec=${m##*.}
    gzip -9n < "$m" > "$S/usr/share/man/man$sec/$(basename "$m").gz"
done
install -m 0644 "$P/debian/copyright" "$S/usr/share/doc/thinvisor/copyright"
gzip -9n < "$P/debian/changelog" > "$S/usr/share/doc/thinvisor/changelog.gz"
for d in install config keyslots vpn policies security; do
    [ -f "$ROOT/docs/$d.md" ] && gzip -9n < "$ROOT/docs/$d.md" > "$S/usr/share/doc/thinvisor/$d.md.gz"
done
install -m 0644 "$P/debian/lintian-overrides" "$S/usr/share/lintian/overrides/thinvisor"
chmod 0700 "$S/etc/thinvisor"

install -m 0755 "$P/debian/postinst" "$P/debian/prerm" "$P/debian/postrm" "$S/DEBIAN/"
install -m 0644 "$P/debian/conffiles" "$S/DEBIAN/"
SIZE=$(du -sk --exclude=DEBIAN "$S" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@SIZE@/$SIZE/" "$P/debian/control" > "$S/DEBIAN/control"
(cd "$S" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | grep -v '^etc/' | sort | xargs md5sum) > "$S/DEBIAN/md5sums"
chmod 0644 "$S/DEBIAN/md5sums"
DEB=$OUT/thinvisor_${VERSION}_amd64.deb
SOURCE_DATE_EPOCH=$(date -d "$(sed -n 's/^ -- .*>  //p' "$P/debian/changelog" | head -1)" +%s) \
    dpkg-deb --root-owner-group -Zxz --build "$S" "$DEB" >/dev/null
echo "$DEB"
