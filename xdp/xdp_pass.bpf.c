// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_pass.bpf.c - XDP_PASS and nothing else.  The lab and the bench attach
 * it to the veth peer that receives sluice's XDP_TX frames: veth delivers
 * XDP-transmitted frames only to a peer running in XDP (NAPI) mode, and
 * drops them uncounted otherwise.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
