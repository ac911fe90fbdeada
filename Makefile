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

# Kernel to build against: the running kernel's build tree, else the newest
# installed Debian headers.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /lib/modules/*/build))))
# The release modules_install uses: /lib/modules/<KVER>/build, else what
# the build tree says.
KVER ?= $(or $(patsubst /lib/modules/%/build,%,$(filter /lib/modules/%/build,$(KDIR))),\
	$(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null))
SRC := $(CURDIR)

.PHONY: all modules userspace ext tools selftests-bin clean check demo bench lint deps \
	install uninstall

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
unit:
	$(MAKE) -C tools check
	$(MAKE) -C iptables-ext check
	$(MAKE) -C tests/unit check
	$(MAKE) -C tests/unit fuzz-run FUZZ_SECONDS=$(FUZZ_SECONDS)

FUZZ_SECONDS ?= 30

# Run a command in the test guest:  make vm CMD='selftests/run.sh control'
# or get a shell there:             make vm-shell  (exit it to power off)
CMD ?= uname -a
vm:
	selftests/vm/run.sh -- bash -c '$(subst ','\'',$(CMD))'

vm-shell:
	selftests/vm/run.sh -t 86400 --shell

.PHONY: unit vm vm-shell

# The demo of a COLO pair needs the primary host's data path (xt_PMYCOLO),
# which is not there yet: say so rather than show half a pair.
demo:
	@echo "make demo: not yet: the primary host's compare path (xt_PMYCOLO) is still being built." >&2
	@echo "Meanwhile: selftests/vm/run.sh -e COLO_FAILOVER=1 -- selftests/failover.sh shows a failover." >&2
	@exit 1

# Install like a kernel module: modules into extra/ (INSTALL_MOD_PATH for a
# staging root), depmod, the iptables extensions into xtables' directory
# (DESTDIR), and coloctl.
INSTALL_MOD_DIR ?= extra
install: all
	$(MAKE) -C $(KDIR) M=$(SRC) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) CONFIG_MODULE_SIG_ALL= modules_install
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)
	$(MAKE) -C iptables-ext install
	$(MAKE) -C tools install

uninstall:
	rm -f $(addprefix $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/,\
		nf_conntrack_colo.ko nfnetlink_colo.ko xt_PMYCOLO.ko xt_SECCOLO.ko)
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)
	$(MAKE) -C iptables-ext uninstall
	$(MAKE) -C tools uninstall
