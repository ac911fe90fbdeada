# SPDX-License-Identifier: GPL-2.0
#
# colo-proxy: COLO network proxy as netfilter modules for stock kernels.
#
#   make            modules, iptables extensions and tools
#   make check      install missing Debian packages, build, run unit tests
#                   and every selftest in a QEMU guest
#   make demo       a COLO pair at work, in a QEMU guest
#   make lint       checkpatch --strict, sparse, W=1
#   make install    modules_install + depmod, xtables .so, tools, man pages
#                   (DESTDIR, INSTALL_MOD_PATH, PREFIX); make uninstall
#   make man        build the man pages and check them for warnings
#   make dkms-src   the modules' sources into $(DESTDIR)/usr/src for DKMS
#   make deb        Debian packages colo-proxy-dkms and colo-proxy-tools,
#                   built in a copy of the tree, into build/deb/

# Kernel to build against: the running kernel's build tree, else the newest
# installed Debian headers.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /lib/modules/*/build))))
# The release modules_install uses: /lib/modules/<KVER>/build, else what
# the build tree says.
KVER ?= $(or $(patsubst /lib/modules/%/build,%,$(filter /lib/modules/%/build,$(KDIR))),\
	$(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null))
SRC := $(CURDIR)
# The version, in one place: dkms.conf (DKMS needs it there, literally).
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' $(SRC)/dkms.conf)
export VERSION

.PHONY: all modules userspace ext tools selftests-bin clean clean-modules check \
	demo bench lint deps install uninstall man install-test dkms-src dkms-check \
	deb deb-check shellcheck

all: modules userspace selftests-bin

modules:
	@test -n "$(KDIR)" || { echo "no kernel headers found: apt-get install linux-headers-amd64, or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(SRC) modules

userspace: ext tools

ext:
	$(MAKE) -C iptables-ext

tools:
	$(MAKE) -C tools

# The selftests' own helpers: a libxl client and a test module.
selftests-bin: modules
	$(MAKE) -C selftests KDIR=$(KDIR)

clean-modules:
	$(MAKE) -C $(KDIR) M=$(SRC) clean

clean:
	-$(MAKE) -C $(KDIR) M=$(SRC) clean
	$(MAKE) -C iptables-ext clean
	$(MAKE) -C tools clean
	$(MAKE) -C selftests clean KDIR=$(KDIR)

# Kernel style gates. checkpatch ships in Debian's linux-source tarball.
KSRC_TAR ?= $(lastword $(sort $(wildcard /usr/src/linux-source-*.tar.xz)))
CHECKPATCH := build/checkpatch/scripts/checkpatch.pl
KERNEL_SOURCES = $(filter-out %.mod.c,$(wildcard nf_conntrack_colo/*.[ch] nfnetlink_colo/*.[ch] \
	xt_PMYCOLO/*.[ch] xt_SECCOLO/*.[ch] include/net/netfilter/*.h \
	include/uapi/linux/netfilter/*.h selftests/kmod/*.c))

$(CHECKPATCH):
	@test -n "$(KSRC_TAR)" || { echo "checkpatch needs linux-source: apt-get install linux-source-6.1" >&2; exit 1; }
	mkdir -p build/checkpatch
	tar -xJf $(KSRC_TAR) -C build/checkpatch --strip-components=1 \
		--wildcards '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'

checkpatch: $(CHECKPATCH)
	$(CHECKPATCH) --strict --no-tree --terse --show-types \
		-f $(KERNEL_SOURCES)

sparse:
	{ $(MAKE) -C $(KDIR) M=$(SRC) C=2 CF="-D__CHECK_ENDIAN__" modules && \
	  $(MAKE) -C selftests kmod KDIR=$(KDIR) C=2 CF="-D__CHECK_ENDIAN__"; } 2>&1 | \
		tee build/sparse.log
	@! grep -E "warning|error" build/sparse.log

w1:
	{ $(MAKE) -C $(KDIR) M=$(SRC) W=1 modules && \
	  $(MAKE) -C selftests kmod KDIR=$(KDIR) W=1; } 2>&1 | tee build/w1.log
	@! grep -E "warning:|error:" build/w1.log

lint: checkpatch sparse w1

.PHONY: checkpatch sparse w1

# Test plumbing. Everything after 'deps' runs in a sub-make or script, so
# that the kernel headers 'deps' may have just installed are seen.
deps:
	scripts/deps.sh

check: deps
	scripts/check.sh

# Userspace unit tests: each suite ends with its own "N passed, N failed".
# unit-tests is all of them but the fuzz run, which make check runs beside
# them (both are bound by one CPU each).
unit: unit-tests fuzz-run

unit-tests:
	bash -n selftests/demo/colo_demo.sh
	bash -n selftests/demo/colo_demo_realvm.sh
	$(MAKE) -C tools check
	$(MAKE) man
	$(MAKE) install-test
	tests/guest-lib-test.sh
	$(MAKE) dkms-check
	$(MAKE) -C iptables-ext check
	$(MAKE) -C tests/unit check

fuzz-run:
	$(MAKE) -C tests/unit fuzz-run FUZZ_SECONDS=$(FUZZ_SECONDS)

FUZZ_SECONDS ?= 30

# Run a command in the test guest:  make vm CMD='selftests/run.sh control'
# or get a shell there:             make vm-shell  (exit it to power off)
CMD ?= uname -a
vm:
	selftests/vm/run.sh -- bash -c '$(subst ','\'',$(CMD))'

vm-shell:
	selftests/vm/run.sh -t 86400 --shell

.PHONY: unit unit-tests fuzz-run vm vm-shell

# Benchmark of the primary's compare path: figures and ratios, with and
# without the proxy, in one guest run (not a test: it asserts no speed).
# The benchmarks (selftests/bench/) in one guest run; BENCH names a subset
# (compare, instances, colo, profile, latency); BENCH_ROUNDS, BENCH_MB,
# BENCH_CMP_MB, BENCH_FLOWS, BENCH_FLOW_SEGMENTS, BENCH_INSTANCES,
# BENCH_PERIOD_NS and BENCH_TRANSACTIONS reach the guest.
BENCH ?= compare instances colo
BENCH_VARS := BENCH_ROUNDS BENCH_MB BENCH_CMP_MB BENCH_FLOWS \
	BENCH_FLOW_SEGMENTS BENCH_INSTANCES BENCH_PERIOD_NS BENCH_TRANSACTIONS
# The allocator as a stock kernel runs it (no slub_debug): the tests' FZP
# takes every slab allocation and free off SLUB's per-CPU fast path, which
# halved the no-proxy path's rate here (docs/design.md, Benchmarks).
# BENCH_SLUB_DEBUG=FZP measures with the tests' flags.
BENCH_SLUB_DEBUG ?= -
bench: all
	VM_SLUB_DEBUG='$(BENCH_SLUB_DEBUG)' selftests/vm/run.sh -t 3600 \
		$(foreach v,$(BENCH_VARS),$(if $($(v)),-e '$(v)=$($(v))')) \
		-- selftests/bench/run.sh $(BENCH)

# The demo of a COLO pair in one guest run: the pair, a download with live
# counters, a divergence and its checkpoint, the primary's death and the
# failover; exits with the demo's status. By default the real pair
# (selftests/demo/colo_demo_realvm.sh: two QEMU VMs beside the guest,
# checkpointed by QEMU's COLO frame); DEMO=standin shows the namespace pair
# with the hypervisor stand-in (selftests/demo/colo_demo.sh), where
# DEMO_MB, the download's size, applies. DEMO_RATE (the client's link)
# reaches both. Built for the kernel the guest boots, in a sub-make after
# 'deps' (as check does).
DEMO ?= realvm
DEMO_TIMEOUT ?= 1200
demo: deps
	@kver=$$(scripts/kver.sh) && \
	$(MAKE) --no-print-directory all KDIR=/lib/modules/$$kver/build && \
	selftests/vm/run.sh -t $(DEMO_TIMEOUT) -k $$kver \
		$(if $(filter standin,$(DEMO)),,--colo-vms) \
		$(foreach v,DEMO_MB DEMO_RATE,$(if $($(v)),-e '$(v)=$($(v))')) \
		-- selftests/demo/$(if $(filter standin,$(DEMO)),colo_demo.sh,colo_demo_realvm.sh)

# Install like a kernel module: modules into extra/ (INSTALL_MOD_PATH for a
# staging root), depmod, the iptables extensions into xtables' directory,
# coloctl, colo-qemu-agent, colo-proxy-setup and the man pages under PREFIX (all of them
# under DESTDIR). uninstall removes exactly those files.
INSTALL_MOD_DIR ?= extra
COLO_MODULES := nf_conntrack_colo nfnetlink_colo xt_PMYCOLO xt_SECCOLO
MODDIR = $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)
DEPMOD ?= depmod
# depmod of a staging root (INSTALL_MOD_PATH) that holds only our modules.
depmod = $(DEPMOD) $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)

# install wants built modules, not a kbuild run: kbuild finding nothing
# to do still takes a minute under an emulator (the selftests' guest).
# Each module is stale by its own sources and the shared headers only:
# kbuild leaves a module whose sources did not change as it was, so
# giving each every module's sources would find the untouched ones older
# for ever (make's grouped targets share their prerequisites: the same).
# A stale module runs kbuild, which remakes all of them; under -j the
# order-only chain keeps two such runs from sharing the tree at once (the
# second finds nothing to do).
MODULE_KOS := $(foreach m,$(COLO_MODULES),$(m)/$(m).ko)
SHARED_HDRS := $(wildcard Kbuild include/net/netfilter/*.h \
	include/uapi/linux/netfilter/*.h)
$(foreach m,$(COLO_MODULES),$(eval $(m)/$(m).ko: $(filter-out %.mod.c,\
	$(wildcard $(m)/Kbuild $(m)/*.[ch])) $(SHARED_HDRS)))
$(foreach i,2 3 4,$(eval $(word $(i),$(MODULE_KOS)): | \
	$(word $(shell expr $(i) - 1),$(MODULE_KOS))))
$(MODULE_KOS):
	$(MAKE) modules

install: $(MODULE_KOS) userspace man-pages
	@test -n "$(KVER)" || { echo "install: no kernel release for KDIR=$(KDIR)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(SRC) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) CONFIG_MODULE_SIG_ALL= modules_install
	$(depmod)
	$(MAKE) -C iptables-ext install
	$(MAKE) -C tools install

uninstall:
	@test -n "$(KVER)" || { echo "uninstall: no kernel release for KDIR=$(KDIR)" >&2; exit 1; }
	rm -f $(foreach m,$(COLO_MODULES),$(foreach z,.ko .ko.gz .ko.xz .ko.zst,\
		$(MODDIR)/$(m)/$(m)$(z)))
	rmdir $(addprefix $(MODDIR)/,$(COLO_MODULES)) 2>/dev/null || true
	if [ -d $(INSTALL_MOD_PATH)/lib/modules/$(KVER) ]; then $(depmod); fi
	$(MAKE) -C iptables-ext uninstall
	$(MAKE) -C tools uninstall

# Man pages: coloctl.8, colo-qemu-agent.8, colo-proxy-setup.8 and
# colo-proxy-targets.8 (made from the iptables-extensions fragments); 'man'
# also checks them.
man-pages:
	$(MAKE) -C iptables-ext man

man: man-pages
	scripts/man-lint.sh iptables-ext/colo-proxy-targets.8 tools/coloctl.8 \
		tools/colo-qemu-agent.8 \
		tools/colo-proxy-setup.8

.PHONY: man-pages

# make install / uninstall into a staging root, checked file by file.
install-test:
	tests/install-test.sh

# DKMS: the module sources as dkms wants them in /usr/src/NAME-VERSION;
# then 'dkms install colo-proxy/$(VERSION)'.
DKMS_SRC := $(DESTDIR)/usr/src/colo-proxy-$(VERSION)
dkms-src:
	install -d $(DKMS_SRC)
	cp --parents Makefile Kbuild dkms.conf $(wildcard */Kbuild) \
		$(filter-out %.mod.c,$(wildcard $(addsuffix /*.[ch],$(COLO_MODULES)))) \
		$(wildcard include/net/netfilter/*.h include/uapi/linux/netfilter/*.h) \
		$(DKMS_SRC)/

# dkms add + build against every installed kernel's headers, in a private
# dkms tree (the system's stays untouched).
dkms-check:
	scripts/dkms-check.sh

# Debian packages (debian/), with dpkg-buildpackage in a copy of the tree
# (the files git knows, and new ones it does not ignore) so that the tree
# stays clean; the .deb files and the .changes land in build/deb/.
DEB_DIR := build/deb
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/colo-proxy-$(VERSION)
	git ls-files -z --cached --others --exclude-standard | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar --null -T - -cf - | tar -xf - -C $(DEB_DIR)/colo-proxy-$(VERSION)
	cd $(DEB_DIR)/colo-proxy-$(VERSION) && dpkg-buildpackage -b -us -uc
	ls $(DEB_DIR)/*.deb

# make deb, then the packages' contents and lintian (errors and warnings).
deb-check:
	scripts/deb-check.sh

# shellcheck on every shell script of the project.
shellcheck:
	scripts/shellcheck.sh
