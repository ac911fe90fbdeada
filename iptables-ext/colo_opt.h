/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Option checks shared by libxt_PMYCOLO and libxt_SECCOLO. Each .so is
 * built from one .c file, so these are static inline rather than a
 * library of their own.
 */
#ifndef _COLO_OPT_H
#define _COLO_OPT_H

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xtables.h>
#include <linux/netfilter/nfnetlink_colo.h>

/*
 * Decimal only: strtoul's base 0 would read "010" as 8, and its leading
 * whitespace or '-' would quietly turn into something else.
 */
static inline __u32 colo_parse_index(const char *ext, const char *arg)
{
	unsigned long val;
	const char *p;

	for (p = arg; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			break;
	if (*arg == '\0' || *p != '\0')
		xtables_error(PARAMETER_PROBLEM,
			      "%s: --index \"%s\" is not a number; expected %u-%u",
			      ext, arg, NFCOLO_INDEX_MIN, NFCOLO_INDEX_MAX);

	errno = 0;
	val = strtoul(arg, NULL, 10);
	if (errno == ERANGE || val < NFCOLO_INDEX_MIN || val > NFCOLO_INDEX_MAX)
		xtables_error(PARAMETER_PROBLEM,
			      "%s: --index %s is out of range; expected %u-%u",
			      ext, arg, NFCOLO_INDEX_MIN, NFCOLO_INDEX_MAX);
	return (__u32)val;
}

static inline void colo_missing_index(const char *ext)
{
	xtables_error(PARAMETER_PROBLEM,
		      "%s: --index N is required (the COLO proxy instance, %u-%u)",
		      ext, NFCOLO_INDEX_MIN, NFCOLO_INDEX_MAX);
}

/*
 * The rules of the kernel's dev_valid_name(): a name it would refuse can
 * never match a device, so refuse it here rather than at packet time.
 * Unlike -i/-o, '+' is no wildcard: the target names one device.
 */
static inline void colo_check_ifname(const char *ext, const char *opt,
				     const char *name, size_t size)
{
	const char *p;

	if (*name == '\0')
		xtables_error(PARAMETER_PROBLEM,
			      "%s: --%s needs an interface name", ext, opt);
	if (strlen(name) >= size)
		xtables_error(PARAMETER_PROBLEM,
			      "%s: --%s \"%s\": interface name must be shorter than %zu characters",
			      ext, opt, name, size);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		xtables_error(PARAMETER_PROBLEM,
			      "%s: --%s \"%s\" is not a valid interface name",
			      ext, opt, name);
	for (p = name; *p != '\0'; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
			xtables_error(PARAMETER_PROBLEM,
				      "%s: --%s \"%s\" is not a valid interface name ('/', ':' and whitespace are not allowed)",
				      ext, opt, name);
}

#endif /* _COLO_OPT_H */
