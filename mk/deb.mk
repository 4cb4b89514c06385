# The Debian package (docs/install.md): build/deb/thinvisor_VERSION_amd64.deb, built without
# root by packaging/build-deb.sh with dpkg-deb.
#   make deb       the package
#   make deb-lint  lintian on it (errors fail; warnings are listed in docs/install.md)
DEB_DIR := $(BUILD)/deb

$(DEB_DIR)/thinvisor-ctl: tools/guest/thinvisor-ctl.c include/thinvisor/hypercall.h include/thinvisor/vpn_codes.h
	@mkdir -p $(DEB_DIR)
	gcc -static -O2 -Wall -Wextra -Iinclude -o $@ $<
	strip --remove-section=.comment --remove-section=.note $@

deb: all efi disk-tool policy-tool enroll-tool $(DEB_DIR)/thinvisor-ctl
	packaging/build-deb.sh $(BUILD) $(DEB_DIR)

deb-lint: deb
	lintian --fail-on error --suppress-tags-from-file /dev/null $(DEB_DIR)/thinvisor_*_amd64.deb

TEST_DEPS += deb
.PHONY: deb deb-lint
