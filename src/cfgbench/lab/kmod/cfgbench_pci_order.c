// SPDX-License-Identifier: GPL-2.0
/*
 * cfgbench_pci_order: which mechanism x86 Linux uses for config registers below 0x100,
 * switchable at run time, for cfgbench's throwaway QEMU lab guest only.
 *
 * raw_pci_read() and raw_pci_write() (arch/x86/pci/common.c) send domain 0, offsets below
 * 0x100 through raw_pci_ops (type 1 ports) whenever it is set, and everything else through
 * raw_pci_ext_ops (ECAM). With raw_pci_ops NULL every access goes through ECAM: the order
 * Ajay Kaher proposed in 2022. Writing "ecam" to /sys/module/cfgbench_pci_order/parameters/order
 * sets it NULL; "native" puts back what it held at load; unloading puts it back too.
 *
 * Neither symbol is exported, nor is kallsyms_lookup_name (since 5.7): a kprobe on the
 * latter gives its address. The module refuses to load without ECAM (raw_pci_ext_ops NULL),
 * where "ecam" would leave the kernel with no config access at all.
 */
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/stop_machine.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <asm/pci_x86.h>

static const struct pci_raw_ops **ops_slot;	/* &raw_pci_ops */
static const struct pci_raw_ops *kernel_ops;	/* what it held at load */
static bool ecam_only;				/* the order in force (or asked for at load) */

static int store_ops(void *ops)
{
	WRITE_ONCE(*ops_slot, ops);
	return 0;
}

static int switch_order(bool to_ecam)
{
	/*
	 * raw_pci_read() tests raw_pci_ops, then calls through it: a plain store between the two
	 * would make it call through NULL. stop_machine() stores while every CPU sits in its
	 * stopper with interrupts off, so no CPU is between the test and the call.
	 */
	int err = stop_machine(store_ops, to_ecam ? NULL : (void *)kernel_ops, NULL);

	if (!err)
		ecam_only = to_ecam;
	return err;
}

static int order_set(const char *val, const struct kernel_param *kp)
{
	bool to_ecam;

	if (sysfs_streq(val, "ecam"))
		to_ecam = true;
	else if (sysfs_streq(val, "native"))
		to_ecam = false;
	else
		return -EINVAL;
	if (!ops_slot) {	/* insmod order=...: parsed before init; init applies it */
		ecam_only = to_ecam;
		return 0;
	}
	return switch_order(to_ecam);
}

static int order_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", ecam_only ? "ecam" : "native");
}

static const struct kernel_param_ops order_ops = { .set = order_set, .get = order_get };
module_param_cb(order, &order_ops, NULL, 0644);
MODULE_PARM_DESC(order, "native: the kernel's own order (type 1 first); ecam: ECAM only");

/* The function the kernel's own order reads registers below 0x100 with, e.g. pci_conf1_read. */
static int kernel_read_get(char *buf, const struct kernel_param *kp)
{
	if (!kernel_ops)
		return sysfs_emit(buf, "none\n");
	return sysfs_emit(buf, "%ps\n", kernel_ops->read);
}

static const struct kernel_param_ops kernel_read_ops = { .get = kernel_read_get };
module_param_cb(kernel_read, &kernel_read_ops, NULL, 0444);
MODULE_PARM_DESC(kernel_read, "the read function of raw_pci_ops as loaded (read only)");

static unsigned long symbol_address(const char *name)
{
	static unsigned long (*lookup)(const char *name);
	struct kprobe probe = { .symbol_name = "kallsyms_lookup_name" };

	if (!lookup) {
		if (register_kprobe(&probe) < 0)
			return 0;
		lookup = (unsigned long (*)(const char *))probe.addr;
		unregister_kprobe(&probe);
	}
	return lookup(name);
}

static int __init pci_order_init(void)
{
	const struct pci_raw_ops **ext_slot;
	bool want_ecam = ecam_only;

	ops_slot = (const struct pci_raw_ops **)symbol_address("raw_pci_ops");
	ext_slot = (const struct pci_raw_ops **)symbol_address("raw_pci_ext_ops");
	if (!ops_slot || !ext_slot) {
		pr_err("cfgbench_pci_order: raw_pci_ops or raw_pci_ext_ops not found through kallsyms\n");
		ops_slot = NULL;
		return -ENOENT;
	}
	if (!READ_ONCE(*ext_slot)) {
		pr_err("cfgbench_pci_order: no ECAM (raw_pci_ext_ops is NULL): ECAM only would leave no config access\n");
		ops_slot = NULL;
		return -ENODEV;
	}
	kernel_ops = READ_ONCE(*ops_slot);
	ecam_only = false;
	pr_info("cfgbench_pci_order: below 0x100 the kernel reads with %ps, ECAM with %ps\n",
		kernel_ops ? kernel_ops->read : NULL, READ_ONCE(*ext_slot)->read);
	return want_ecam ? switch_order(true) : 0;
}

static void __exit pci_order_exit(void)
{
	switch_order(false);
}

module_init(pci_order_init);
module_exit(pci_order_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("cfgbench lab guest only: switch x86 PCI config access between type 1 first and ECAM only");
