#!/usr/bin/env bash
# mk/deps.sh - install thinvisor's Debian packages and build its freestanding
# third-party libraries into third_party/ (git-ignored, never committed):
#
#   third_party/newlib/install/x86_64-elf/include/    newlib 3.3.0 headers
#   third_party/newlib/install/x86_64-elf/lib/libc.a  newlib 3.3.0 libc
#   third_party/mbedtls/include/                      mbedTLS 2.28 headers
#   third_party/mbedtls/libmbedcrypto.a               (config: lib/config/mbedtls_config.h)
#   third_party/mbedtls/libmbedtls.a                  TLS 1.2 client (same config)
#   third_party/lwip/include/                         lwIP 2.1.3 headers
#   third_party/lwip/liblwip.a                        (config: lib/config/lwip/)
#
# Every library is compiled by the host gcc as freestanding x86-64 code for
# the monitor: no red zone, kernel code model, no SSE except where a file
# cannot do without it (newlib's double-returning functions, mbedTLS aesni.c).
#
# Idempotent: each step leaves a stamp under third_party/stamps/ holding a key
# of its inputs (versions, flags, config file hashes) and is redone only when
# the key changes.  A finished tree re-runs in well under 2 seconds.
#
# Usage: mk/deps.sh [--no-apt] [--force]
#   --no-apt   do not install missing Debian packages (only report them)
#   --force    redo every step (refetch the sources, rebuild every library)
# Environment: JOBS (parallel jobs, default 2).
set -Eeuo pipefail

# Run from make (`make test` recurses), the makes below would inherit its flags (-w, -j,
# a jobserver): the libraries' own builds and the mbedTLS object query want none of them.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TP=$ROOT/third_party
STAMPS=$TP/stamps
LOGS=$TP/logs
JOBS=${JOBS:-2}
NO_APT=0
FORCE=0

for arg in "$@"; do
    case $arg in
        --no-apt) NO_APT=1 ;;
        --force) FORCE=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "deps: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

CURRENT_STEP=start
log() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: ERROR: %s\n' "$*" >&2; exit 1; }
on_err() {
    local rc=$?
    printf 'deps: ERROR: step "%s" failed (exit %d)' "$CURRENT_STEP" "$rc" >&2
    if [[ -f $LOGS/$CURRENT_STEP.log ]]; then
        printf '; last lines of %s:\n' "$LOGS/$CURRENT_STEP.log" >&2
        tail -n 25 "$LOGS/$CURRENT_STEP.log" >&2
    else
        printf '\n' >&2
    fi
    exit "$rc"
}
trap on_err ERR

case $ROOT in *[[:space:]]*) die "the repository path '$ROOT' contains white space; newlib's configure cannot cope" ;; esac

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# stamp_ok NAME KEY [FILES...]: the step NAME was done with KEY and its outputs exist.
stamp_ok() {
    local name=$1 key=$2 f
    shift 2
    [[ $FORCE == 0 && -f $STAMPS/$name && "$(cat "$STAMPS/$name")" == "$key" ]] || return 1
    for f in "$@"; do [[ -e $f ]] || return 1; done
}
stamp_set() { mkdir -p "$STAMPS"; printf '%s\n' "$2" > "$STAMPS/$1"; }

# ---------------------------------------------------------------------------
# Compiler flags
# ---------------------------------------------------------------------------
FREESTANDING_FLAGS=(-O2 -ffreestanding -fno-builtin -mno-red-zone -fno-pic -mcmodel=kernel
    -fno-stack-protector -fno-asynchronous-unwind-tables)
NOSSE=-mgeneral-regs-only
# newlib has a few assembly files (memcpy, memset, setjmp...): mark their stack
# non-executable too, or ld warns about every image that links them.
NEWLIB_EXTRA_FLAGS=(-Wa,--noexecstack)

NEWLIB_VERSION=3.3.0
NEWLIB_TARBALL=/usr/src/newlib/newlib-$NEWLIB_VERSION.tar.xz
NEWLIB_PREFIX=$TP/newlib/install
NEWLIB_INC=$NEWLIB_PREFIX/x86_64-elf/include
NEWLIB_LIBC=$NEWLIB_PREFIX/x86_64-elf/lib/libc.a

MBEDTLS_CONFIG=$ROOT/lib/config/mbedtls_config.h
LWIP_CONFIG_DIR=$ROOT/lib/config/netstack

# ---------------------------------------------------------------------------
# a. Debian packages
# ---------------------------------------------------------------------------
step_packages() {
    CURRENT_STEP=packages
    local list=$ROOT/mk/packages.txt pkgs installed missing=() p
    [[ -f $list ]] || die "$list is missing"
    mapfile -t pkgs < <(sed 's/#.*//' "$list" | tr -s ' \t' '\n\n' | sed '/^$/d')
    installed=" $(dpkg-query -W -f='${db:Status-Abbrev}|${Package}\n' "${pkgs[@]}" 2>/dev/null \
        | awk -F'|' '$1 ~ /^ii/ { printf "%s ", $2 }' || true) "
    for p in "${pkgs[@]}"; do
        [[ $installed == *" $p "* ]] || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        log "packages: all ${#pkgs[@]} installed"
        return
    fi
    if [[ $NO_APT == 1 ]]; then
        die "missing Debian packages (--no-apt given): ${missing[*]}"
    fi
    [[ $(id -u) == 0 ]] || die "missing Debian packages and not root: apt-get install ${missing[*]}"
    log "packages: installing ${missing[*]}"
    mkdir -p "$LOGS"
    local t0; t0=$(now)
    apt-get update > "$LOGS/packages.log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
        >> "$LOGS/packages.log" 2>&1
    log "packages: installed ${#missing[@]} in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------
# b. newlib
# ---------------------------------------------------------------------------
step_newlib() {
    CURRENT_STEP=newlib
    [[ -f $NEWLIB_TARBALL ]] || die "$NEWLIB_TARBALL not found (package newlib-source)"
    local gcc_inc key
    gcc_inc=$(gcc -print-file-name=include)
    key="newlib $NEWLIB_VERSION $(stat -c %s "$NEWLIB_TARBALL") gcc $(gcc -dumpfullversion) ${FREESTANDING_FLAGS[*]} ${NEWLIB_EXTRA_FLAGS[*]}"
    if stamp_ok newlib "$key" "$NEWLIB_LIBC" "$NEWLIB_INC/stdio.h"; then
        log "newlib: up to date"
        return
    fi
    local t0; t0=$(now)
    local src=$TP/src/newlib-salsa build=$TP/build/newlib
    rm -f "$STAMPS/newlib"
    rm -rf "$src" "$build" "$TP/newlib"
    mkdir -p "$TP/src" "$build" "$LOGS"
    log "newlib: unpacking $NEWLIB_TARBALL"
    tar -xJf "$NEWLIB_TARBALL" -C "$TP/src"
    [[ -x $src/newlib/configure ]] || die "newlib tarball did not unpack to $src"

    # The SSE-enabled compiler is the default; the libc pass overrides it with
    # -mgeneral-regs-only.  newlib adds -I for its own headers itself.
    local cc_sse="gcc ${FREESTANDING_FLAGS[*]} ${NEWLIB_EXTRA_FLAGS[*]} -nostdinc -isystem $gcc_inc"
    local cc_nosse="$cc_sse $NOSSE -I$build/targ-include -I$src/newlib/libc/include"
    log "newlib: configure"
    (cd "$build" && "$src/newlib/configure" -C \
        --host=x86_64-elf --build=x86_64-linux-gnu \
        --disable-multilib --disable-newlib-supplied-syscalls \
        --disable-newlib-io-float --enable-newlib-io-long-long \
        --prefix="$NEWLIB_PREFIX" \
        CC="$cc_sse" CFLAGS="" AR=ar AS=as LD=ld NM=nm RANLIB=ranlib OBJDUMP=objdump \
        ) > "$LOGS/newlib.log" 2>&1

    # Pass 1: libc without SSE.  Files with functions returning double (SSE
    # register) or long double (x87 register) fail; nothing else may.
    log "newlib: build libc with $NOSSE (make -k; double-returning files are expected to fail)"
    make -C "$build" stmp-targ-include >> "$LOGS/newlib.log" 2>&1
    make -C "$build/libc" -k -j"$JOBS" CC="$cc_nosse" > "$LOGS/newlib-pass1.log" 2>&1 || true
    # Any other error is real.
    local bad
    bad=$(grep -E '(error|Error):' "$LOGS/newlib-pass1.log" \
        | grep -v -E -e '(SSE|x87) register (return|argument) with (SSE|x87) disabled' \
                     -e '^make\[[0-9]*\]: \*\*\*' || true)
    if [[ -n $bad ]]; then
        echo "$bad" | head -n 20 >&2
        die "newlib: unexpected compile errors in pass 1 (see $LOGS/newlib-pass1.log)"
    fi
    local before
    before=$(cd "$build" && find libc -name '*.o' | sort)

    # Pass 2: everything still missing (those libc files, all of libm) with SSE.
    log "newlib: build the failed members and libm with SSE"
    make -C "$build" -j"$JOBS" >> "$LOGS/newlib.log" 2>&1
    {
        comm -13 <(echo "$before") <(cd "$build" && find libc -name '*.o' | sort)
        (cd "$build" && find libm -name '*.o')
    } | xargs -n1 basename | sort -u > "$TP/build/newlib-sse-members.txt"

    log "newlib: install"
    make -C "$build" install >> "$LOGS/newlib.log" 2>&1
    mkdir -p "$TP/newlib"
    mv "$TP/build/newlib-sse-members.txt" "$TP/newlib/sse-members.txt"
    [[ -f $NEWLIB_LIBC ]] || die "newlib: $NEWLIB_LIBC was not installed"
    stamp_set newlib "$key"
    log "newlib: done in $(elapsed "$t0") ($(wc -l < "$TP/newlib/sse-members.txt") members with SSE)"
}

# ---------------------------------------------------------------------------
# c. mbedTLS and lwIP sources from Debian (private deb-src list)
# ---------------------------------------------------------------------------

# Print deb-src lines for the Debian archive entries of the system's apt
# sources (one-line and deb822 formats).  Only suites of this release
# (codename, -updates, -security) are taken; no host name is hard-coded.
APT_ETC=${APT_ETC:-/etc/apt}
debian_deb_src_lines() {
    local codename=""
    if [[ -r /etc/os-release ]]; then
        codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    fi
    local files=()
    [[ -f $APT_ETC/sources.list ]] && files+=("$APT_ETC/sources.list")
    local f
    for f in "$APT_ETC"/sources.list.d/*.list "$APT_ETC"/sources.list.d/*.sources; do
        [[ -f $f ]] && files+=("$f")
    done
    ((${#files[@]})) || return 0
    for f in "${files[@]}"; do
        if [[ $f == *.sources ]]; then
            awk -v codename="$codename" '
                function flush(   n, i, j, k, u, s, c, opt) {
                    if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false)$/ && uris != "") {
                        opt = (signed ~ /^\//) ? "[signed-by=" signed "] " : ""
                        n = split(uris, u, " "); split(suites, s, " ")
                        for (i = 1; i <= n; i++)
                            for (j = 1; j in s; j++)
                                if (codename == "" || s[j] ~ ("^" codename "(-updates|-security)?$"))
                                    print "deb-src " opt u[i] " " s[j] " " comps
                    }
                    types = uris = suites = comps = signed = enabled = ""
                }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                /^[ \t]/ { next }          # continuation line (e.g. an inline key)
                {
                    field = tolower($1); sub(/:$/, "", field)
                    val = $0; sub(/^[^:]*:[ \t]*/, "", val); gsub(/[ \t]+/, " ", val)
                    if (field == "types") types = val
                    else if (field == "uris") uris = val
                    else if (field == "suites") suites = val
                    else if (field == "components") comps = val
                    else if (field == "signed-by") signed = val
                    else if (field == "enabled") enabled = tolower(val)
                }
                END { flush() }' "$f"
        else
            awk -v codename="$codename" '
                /^[ \t]*#/ || NF < 3 || $1 != "deb" { next }
                {
                    i = 2; opt = ""
                    if ($2 ~ /^\[/) {
                        while (i <= NF) { opt = opt (opt == "" ? "" : " ") $i; if ($i ~ /\]$/) { i++; break } i++ }
                        opt = opt " "
                    }
                    uri = $i; suite = $(i + 1); comps = ""
                    for (k = i + 2; k <= NF; k++) comps = comps (comps == "" ? "" : " ") $k
                    if (codename == "" || suite ~ ("^" codename "(-updates|-security)?$"))
                        print "deb-src " opt uri " " suite " " comps
                }' "$f"
        fi
    done | awk '!seen[$0]++'
}

step_sources() {
    CURRENT_STEP=sources
    local srcdir=$TP/src key="mbedtls 2.28.* lwip 2.1.3"
    if stamp_ok sources "$key" "$srcdir/mbedtls/library/aes.c" "$srcdir/lwip/src/core/tcp.c"; then
        log "sources: mbedtls $(cat "$srcdir/mbedtls.version"), lwip $(cat "$srcdir/lwip.version") up to date"
        return
    fi
    local t0; t0=$(now)
    local aptdir=$TP/apt
    rm -f "$STAMPS/sources"
    rm -rf "$aptdir"
    mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$srcdir" "$LOGS"
    debian_deb_src_lines > "$aptdir/sources.list"
    [[ -s $aptdir/sources.list ]] \
        || die "found no Debian archive in /etc/apt/sources.list{,.d/} to derive deb-src lines from"
    # Private lists and cache: the system's apt state is left alone.
    local apt_opts=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
        -o APT::Sandbox::User=root -q)
    log "sources: apt-get update ($(wc -l < "$aptdir/sources.list") private deb-src entries)"
    apt-get "${apt_opts[@]}" update > "$LOGS/sources.log" 2>&1
    local pkg
    for pkg in mbedtls lwip; do
        rm -rf "$srcdir/$pkg" "$srcdir/$pkg"-[0-9]* "$srcdir/$pkg"_*
    done
    log "sources: apt-get source mbedtls lwip"
    (cd "$srcdir" && apt-get "${apt_opts[@]}" source mbedtls lwip) >> "$LOGS/sources.log" 2>&1

    # Check the versions from the sources themselves.
    local d v
    d=$(find "$srcdir" -maxdepth 1 -type d -name 'mbedtls-*' | head -n 1)
    [[ -n $d && -f $d/include/mbedtls/version.h ]] || die "sources: mbedtls did not unpack under $srcdir"
    v=$(sed -n 's/^#define MBEDTLS_VERSION_STRING  *"\([^"]*\)".*/\1/p' "$d/include/mbedtls/version.h")
    [[ $v == 2.28.* ]] || die "sources: need mbedTLS 2.28.x, apt gave '$v' ($d)"
    mv "$d" "$srcdir/mbedtls"
    echo "$v" > "$srcdir/mbedtls.version"
    d=$(find "$srcdir" -maxdepth 1 -type d -name 'lwip-*' | head -n 1)
    [[ -n $d && -f $d/src/include/lwip/init.h ]] || die "sources: lwip did not unpack under $srcdir"
    v=$(awk '/^#define LWIP_VERSION_(MAJOR|MINOR|REVISION)[ \t]/ { gsub(/[^0-9]/, "", $3); printf "%s%s", sep, $3; sep = "." }' \
        "$d/src/include/lwip/init.h")
    [[ $v == 2.1.3 ]] || die "sources: need lwIP 2.1.3, apt gave '$v' ($d)"
    mv "$d" "$srcdir/lwip"
    echo "$v" > "$srcdir/lwip.version"
    stamp_set sources "$key"
    log "sources: mbedtls $(cat "$srcdir/mbedtls.version"), lwip $v fetched in $(elapsed "$t0")"
}

# compile_all OBJDIR LOGFILE SRC... : compile with the array CC_ARGS, JOBS at a time.
compile_all() {
    local objdir=$1 logfile=$2 f
    shift 2
    local cmds=$objdir/.commands
    : > "$cmds"
    for f in "$@"; do
        printf '%q ' "${CC_ARGS[@]}" -c "$f" -o "$objdir/$(basename "$f" .c).o" >> "$cmds"
        printf '\n' >> "$cmds"
    done
    if ! xargs -d '\n' -n 1 -P "$JOBS" bash -c < "$cmds" >> "$logfile" 2>&1; then
        grep -E 'error:' "$logfile" | sort -u | head -n 10 >&2 || true
        die "$CURRENT_STEP: compilation failed (see $logfile)"
    fi
}

# ---------------------------------------------------------------------------
# d. mbedTLS (libmbedcrypto.a, and the TLS client libmbedtls.a)
# ---------------------------------------------------------------------------
step_mbedtls() {
    CURRENT_STEP=mbedtls
    local src=$TP/src/mbedtls out=$TP/mbedtls gcc_inc key
    [[ -f $MBEDTLS_CONFIG ]] || die "$MBEDTLS_CONFIG is missing"
    gcc_inc=$(gcc -print-file-name=include)
    key="mbedtls $(cat "$TP/src/mbedtls.version") newlib $(sha256sum < "$STAMPS/newlib" | cut -c1-12) gcc $(gcc -dumpfullversion) ${FREESTANDING_FLAGS[*]} config $(sha256sum < "$MBEDTLS_CONFIG" | cut -c1-16)"
    if stamp_ok mbedtls "$key" "$out/libmbedcrypto.a" "$out/libmbedtls.a" "$out/include/mbedtls/config.h"; then
        log "mbedtls: up to date"
        return
    fi
    local t0; t0=$(now)
    rm -f "$STAMPS/mbedtls"
    rm -rf "$out"
    mkdir -p "$out/obj" "$LOGS"
    : > "$LOGS/mbedtls.log"
    # The crypto and X.509 objects, as listed by mbedTLS's own library/Makefile (X.509 for the
    # VPN's certificate authentication; one archive keeps the link line unchanged).
    local objs srcs=() o
    objs=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$src/library" -f Makefile -f <(printf 'print-%%:\n\t@echo $(%s)\n' '$*') print-OBJS_CRYPTO print-OBJS_X509)
    for o in $objs; do
        [[ $o == */* ]] && continue   # 3rdparty/everest: not enabled
        srcs+=("$src/library/${o%.o}.c")
    done
    ((${#srcs[@]} > 20)) || die "mbedtls: could not read OBJS_CRYPTO from $src/library/Makefile"
    local common=("${FREESTANDING_FLAGS[@]}" -nostdinc -isystem "$NEWLIB_INC" -isystem "$gcc_inc"
        -I"$ROOT/lib/config" -I"$src/include" -I"$src/library"
        "-DMBEDTLS_CONFIG_FILE=\"mbedtls_config.h\"" -Wall)
    local rest=() s
    for s in "${srcs[@]}"; do [[ $s == */aesni.c ]] || rest+=("$s"); done
    log "mbedtls $(cat "$TP/src/mbedtls.version"): compile ${#srcs[@]} files (aesni.c with SSE)"
    CC_ARGS=(gcc "${common[@]}" "$NOSSE")
    compile_all "$out/obj" "$LOGS/mbedtls.log" "${rest[@]}"
    # aesni.c clobbers xmm registers in inline assembly: no -mgeneral-regs-only.
    CC_ARGS=(gcc "${common[@]}")
    compile_all "$out/obj" "$LOGS/mbedtls.log" "$src/library/aesni.c"
    ar rcs "$out/libmbedcrypto.a" "$out"/obj/*.o
    cp -R "$src/include" "$out/include"
    # Headers see our configuration even without -DMBEDTLS_CONFIG_FILE.
    {
        echo "/* Generated by mk/deps.sh: copy of lib/config/mbedtls_config.h (thinvisor). */"
        cat "$MBEDTLS_CONFIG"
    } > "$out/include/mbedtls/config.h"
    echo "aesni.o" > "$out/sse-members.txt"
    # The TLS client (libmbedtls.a: OBJS_TLS, of which lib/config enables the client side only;
    # the rest compiles to empty objects), for the policy fetched over HTTPS (net/https_fetch).
    objs=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$src/library" -f Makefile -f <(printf 'print-%%:\n\t@echo $(%s)\n' '$*') print-OBJS_TLS)
    srcs=()
    for o in $objs; do srcs+=("$src/library/${o%.o}.c"); done
    ((${#srcs[@]} > 5)) || die "mbedtls: could not read OBJS_TLS from $src/library/Makefile"
    log "mbedtls: compile ${#srcs[@]} TLS files"
    mkdir -p "$out/obj-tls"
    CC_ARGS=(gcc "${common[@]}" "$NOSSE")
    compile_all "$out/obj-tls" "$LOGS/mbedtls.log" "${srcs[@]}"
    ar rcs "$out/libmbedtls.a" "$out"/obj-tls/*.o
    : > "$out/sse-members-tls.txt"
    stamp_set mbedtls "$key"
    log "mbedtls: done in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------
# e. lwIP (liblwip.a)
# ---------------------------------------------------------------------------
LWIP_FILES=(
    core/init.c core/def.c core/dns.c core/inet_chksum.c core/ip.c core/mem.c core/memp.c
    core/netif.c core/pbuf.c core/raw.c core/stats.c core/sys.c core/altcp.c
    core/altcp_alloc.c core/altcp_tcp.c core/tcp.c core/tcp_in.c core/tcp_out.c
    core/timeouts.c core/udp.c
    core/ipv4/autoip.c core/ipv4/dhcp.c core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/igmp.c
    core/ipv4/ip4_frag.c core/ipv4/ip4.c core/ipv4/ip4_addr.c
    netif/ethernet.c
)

step_lwip() {
    CURRENT_STEP=lwip
    local src=$TP/src/lwip out=$TP/lwip gcc_inc key
    [[ -f $LWIP_CONFIG_DIR/lwipopts.h && -f $LWIP_CONFIG_DIR/arch/cc.h ]] \
        || die "$LWIP_CONFIG_DIR/lwipopts.h or arch/cc.h is missing"
    gcc_inc=$(gcc -print-file-name=include)
    key="lwip $(cat "$TP/src/lwip.version") newlib $(sha256sum < "$STAMPS/newlib" | cut -c1-12) gcc $(gcc -dumpfullversion) ${FREESTANDING_FLAGS[*]} config $(cd "$LWIP_CONFIG_DIR" && find . -type f -name '*.h' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)"
    if stamp_ok lwip "$key" "$out/liblwip.a" "$out/include/lwip/init.h"; then
        log "lwip: up to date"
        return
    fi
    local t0; t0=$(now)
    rm -f "$STAMPS/lwip"
    rm -rf "$out"
    mkdir -p "$out/obj" "$LOGS"
    : > "$LOGS/lwip.log"
    local srcs=() f
    for f in "${LWIP_FILES[@]}"; do srcs+=("$src/src/$f"); done
    log "lwip $(cat "$TP/src/lwip.version"): compile ${#srcs[@]} files"
    CC_ARGS=(gcc "${FREESTANDING_FLAGS[@]}" "$NOSSE" -nostdinc -isystem "$NEWLIB_INC" -isystem "$gcc_inc"
        -I"$LWIP_CONFIG_DIR" -I"$src/src/include" -Wall)
    compile_all "$out/obj" "$LOGS/lwip.log" "${srcs[@]}"
    ar rcs "$out/liblwip.a" "$out"/obj/*.o
    cp -R "$src/src/include" "$out/include"
    : > "$out/sse-members.txt"
    stamp_set lwip "$key"
    log "lwip: done in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------
# f. Verification
# ---------------------------------------------------------------------------
# Undefined symbols of an archive as a whole (needed from outside it).
archive_undefined() {
    comm -23 <(nm -u "$1" 2>/dev/null | awk 'NF == 2 { print $2 }' | LC_ALL=C sort -u) \
             <(nm -g --defined-only "$1" 2>/dev/null | awk 'NF == 3 { print $3 }' | LC_ALL=C sort -u)
}

# verify_lib NAME ARCHIVE ALLOWED_SSE_LIST
verify_lib() {
    local name=$1 lib=$2 allowed=$3
    CURRENT_STEP=verify
    [[ -s $lib ]] || die "verify: $lib does not exist"
    # Same archive as last verified: print the recorded summary.
    local vkey vstamp=$STAMPS/verify-$name
    vkey="$(stat -c '%s %Y %n' "$lib" "$allowed" | tr '\n' ' ')"
    if [[ -f $vstamp && "$(head -n 1 "$vstamp")" == "$vkey" && -f ${lib%.a}.undefined.txt ]]; then
        tail -n +2 "$vstamp"
        return
    fi
    local undef bad sse unexpected
    undef=$(archive_undefined "$lib")
    # Helpers that would come from the host libgcc (red zone, SSE) or that
    # betray soft-float / 128-bit division / stack protector / PIC code.
    bad=$(grep -E '^__(u?(div|mod)ti3|[a-z]+[sdtx]f[0-9]?|float[a-z]*|fix[a-z]*|stack_chk_fail|stack_chk_guard)$|^_GLOBAL_OFFSET_TABLE_$' \
        <<< "$undef" || true)
    [[ -z $bad ]] || die "verify: $lib needs helpers it must not: $(echo $bad)"
    # Members that touch xmm/ymm/zmm registers must be the expected ones.
    sse=$(objdump -d "$lib" | awk '/file format/ { m = $1; sub(/:$/, "", m) } /%[xyz]mm[0-9]/ { print m }' | sort -u)
    unexpected=$(comm -23 <(echo "$sse" | sed '/^$/d') <(sort -u "$allowed"))
    [[ -z $unexpected ]] || die "verify: $lib members use SSE registers unexpectedly: $(echo $unexpected)"
    echo "$undef" > "${lib%.a}.undefined.txt"
    local members nsse
    members=$(ar t "$lib" | wc -l)
    nsse=$(echo "$sse" | sed '/^$/d' | wc -l)
    local summary
    summary=$(printf 'deps: ok %-8s %s (%d KiB, %d members, %d with SSE) needs %d: %s' "$name" "${lib#"$ROOT"/}" \
        $(( $(stat -c %s "$lib") / 1024 )) "$members" "$nsse" "$(echo "$undef" | sed '/^$/d' | wc -l)" \
        "$(echo $undef | cut -c1-90)$([[ $(echo $undef | wc -c) -gt 91 ]] && echo ...)")
    echo "$summary"
    printf '%s\n%s\n' "$vkey" "$summary" > "$vstamp"
}

step_verify() {
    CURRENT_STEP=verify
    verify_lib newlib "$NEWLIB_LIBC" "$TP/newlib/sse-members.txt"
    verify_lib mbedtls "$TP/mbedtls/libmbedcrypto.a" "$TP/mbedtls/sse-members.txt"
    verify_lib mbedtls-tls "$TP/mbedtls/libmbedtls.a" "$TP/mbedtls/sse-members-tls.txt"
    verify_lib lwip "$TP/lwip/liblwip.a" "$TP/lwip/sse-members.txt"
}

# ---------------------------------------------------------------------------
main() {
    local t0; t0=$(now)
    step_packages
    command -v gcc >/dev/null 2>&1 || die "gcc not found (package build-essential)"
    mkdir -p "$TP"
    # One run at a time.
    exec 9> "$TP/.lock"
    flock 9
    step_newlib
    step_sources
    step_mbedtls
    step_lwip
    step_verify
    log "all done in $(elapsed "$t0")"
}

main
