/* Placeholder: replaced by the real classifier. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "secpol_abi.h"

SEC("xdp")
int secpol_ingress(struct xdp_md *ctx) { return XDP_PASS; }

SEC("tc")
int secpol_egress(struct __sk_buff *skb) { return 0; }

char LICENSE[] SEC("license") = "Dual MIT/GPL";
