#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""inputs.py - deterministic inputs for the bench (python3 stdlib only).

  inputs.py prefixes v4|v6 N [SEED]
      N distinct random prefixes, one CIDR a line.  The sequence for a seed
      is fixed, so the first N lines of a longer list are the shorter list:
      the scaling sets are nested and every run loads the same prefixes.
      IPv4: a realistic blocklist length mix, mostly /16../24 with some
      /25../32, public unicast only (no private, documentation, benchmark or
      multicast space: the lab and the bench use those).  IPv6: mostly
      /32../64, inside 2000::/3, outside 2001:db8::/32.
  inputs.py nft-drop V4FILE V6FILE IFACE
      nftables script: a netdev table with the ingress hook on IFACE, the
      prefixes as interval sets (merged first: nft refuses overlaps without
      auto-merge, which is slow at 100k) and named counters drop4/drop6.
  inputs.py ipset V4FILE V6FILE
      `ipset restore` script for hash:net sets blk4 and blk6.
  inputs.py nft-dnat VIP PORT BACKEND:PORT...
      nftables script in the style of kube-proxy's nftables mode: a
      service-ips verdict map, a per-service chain choosing an endpoint with
      numgen random, per-endpoint DNAT chains; conntrack does the rest.
  inputs.py sluice-conf IFACE --block FILE... --service NAME VIP PORT BACKEND:PORT,...
                        [--extra-services N]
      A sluice config (libconfig, see docs/config.md).  --extra-services
      adds N more services with 3 backends each (the reload scenario's 1k
      services).
"""
import ipaddress
import random
import sys

V4_LENS = {16: 1, 17: 1, 18: 1, 19: 2, 20: 3, 21: 4, 22: 6, 23: 6, 24: 46,
           25: 2, 26: 2, 27: 2, 28: 3, 29: 3, 30: 2, 31: 1, 32: 15}
V6_LENS = {32: 10, 36: 3, 40: 6, 44: 6, 48: 33, 52: 4, 56: 12, 60: 4, 64: 16,
           96: 2, 128: 4}

V4_EXCLUDE = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3")]
V6_EXCLUDE = [ipaddress.ip_network("2001:db8::/32")]


def _overlaps(start, end, excl):
    return any(start <= int(n.broadcast_address) and int(n.network_address) <= end for n in excl)


def prefixes(fam, n, seed):
    rng = random.Random(f"{fam}-{seed}")  # one sequence per family and seed
    bits = 32 if fam == "v4" else 128
    lens, weights = zip(*(V4_LENS if fam == "v4" else V6_LENS).items())
    excl = V4_EXCLUDE if fam == "v4" else V6_EXCLUDE
    seen = set()
    while len(seen) < n:
        ln = rng.choices(lens, weights)[0]
        if fam == "v4":
            addr = rng.getrandbits(32)
        else:
            addr = (0b001 << 125) | rng.getrandbits(125)  # 2000::/3
        addr &= ~((1 << (bits - ln)) - 1) & ((1 << bits) - 1)
        if (addr, ln) in seen:
            continue
        if _overlaps(addr, addr | ((1 << (bits - ln)) - 1), excl):
            continue
        seen.add((addr, ln))
        ip = ipaddress.IPv4Address(addr) if fam == "v4" else ipaddress.IPv6Address(addr)
        yield f"{ip}/{ln}"


def read_nets(path):
    with open(path) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if line:
                yield ipaddress.ip_network(line)


def merged_ranges(path):
    """Sorted, merged [start, end] ranges of a prefix file."""
    spans = sorted((int(n.network_address), int(n.broadcast_address)) for n in read_nets(path))
    out = []
    for s, e in spans:
        if out and s <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def nft_elements(ranges, cls):
    for s, e in ranges:
        yield str(cls(s)) if s == e else f"{cls(s)}-{cls(e)}"


def nft_drop(v4, v6, iface):
    out = ["table netdev sluice_bench {"]
    for name, path, typ, cls in (("b4", v4, "ipv4_addr", ipaddress.IPv4Address),
                                 ("b6", v6, "ipv6_addr", ipaddress.IPv6Address)):
        els = list(nft_elements(merged_ranges(path), cls))
        out.append(f"  set {name} {{ type {typ}; flags interval;")
        if els:
            out.append("    elements = { " + ",\n".join(els) + " }")
        out.append("  }")
    out += ["  counter drop4 { }", "  counter drop6 { }",
            f'  chain in {{ type filter hook ingress device "{iface}" priority 0; policy accept;',
            "    ip saddr @b4 counter name drop4 drop",
            "    ip6 saddr @b6 counter name drop6 drop", "  }", "}"]
    print("\n".join(out))


def ipset(v4, v6):
    for name, path, fam in (("blk4", v4, "inet"), ("blk6", v6, "inet6")):
        nets = list(read_nets(path))
        print(f"create {name} hash:net family {fam} hashsize {max(1024, len(nets))} "
              f"maxelem {max(65536, 2 * len(nets))}")
        for n in nets:
            print(f"add {name} {n}")


def nft_dnat(vip, port, backends):
    # kube-proxy (nftables mode) names chains service-HASH-NS/NAME/PROTO/PORT
    # and endpoint-HASH-NS/NAME/PROTO/PORT__IP/PORT; shorter names here, the
    # same shape: map lookup -> service chain -> numgen -> endpoint -> dnat
    svc = "service-bench-web-tcp"
    out = ["table ip kube-proxy {",
           "  map service-ips {",
           "    type ipv4_addr . inet_proto . inet_service : verdict",
           f"    elements = {{ {vip} . tcp . {port} : goto {svc} }}",
           "  }",
           "  chain nat-prerouting {",
           "    type nat hook prerouting priority dstnat; policy accept;",
           "    jump services",
           "  }",
           "  chain services {",
           "    ip daddr . meta l4proto . th dport vmap @service-ips",
           "  }",
           "  chain filter-forward {",
           "    type filter hook forward priority -110; policy accept;",
           "    ct state invalid drop",
           "  }",
           f"  chain {svc} {{",
           f"    numgen random mod {len(backends)} vmap {{ "
           + ", ".join(f"{i} : goto endpoint-{i}" for i in range(len(backends))) + " }",
           "  }"]
    for i, be in enumerate(backends):
        out += [f"  chain endpoint-{i} {{", f"    meta l4proto tcp dnat to {be}", "  }"]
    out.append("}")
    print("\n".join(out))


def sluice_conf(argv):
    iface, blocks, svc, extra = argv[0], [], None, 0
    i = 1
    while i < len(argv):
        if argv[i] == "--block":
            blocks.append(argv[i + 1])
            i += 2
        elif argv[i] == "--service":
            svc = argv[i + 1:i + 5]
            i += 5
        elif argv[i] == "--extra-services":
            extra = int(argv[i + 1])
            i += 2
        else:
            raise SystemExit(f"sluice-conf: unknown argument {argv[i]}")
    out = ["# generated by bench/inputs.py sluice-conf",
           f'interfaces = ( {{ name = "{iface}"; allow_generic = false; }} );']
    if blocks:
        out.append("blocklist = { files = [ " + ", ".join(f'"{b}"' for b in blocks) + " ]; };")
    services = []
    if svc:
        name, vip, port, bes = svc
        services.append((name, vip, int(port), bes.split(",")))
    for k in range(extra):
        # VIPs 198.19.128.0 + k, backends from 198.19.64.0 up, 3 each
        vip = ipaddress.IPv4Address("198.19.128.0") + k
        bes = [f"{ipaddress.IPv4Address('198.19.64.0') + 3 * k + j}:8080" for j in range(3)]
        services.append((f"extra{k}", str(vip), 80, bes))
    if services:
        out.append("services = (")
        for n, (name, vip, port, bes) in enumerate(services):
            bl = ", ".join('{ address = "%s"; port = %s; }' % tuple(b.split(":")) for b in bes)
            out.append(f'  {{ name = "{name}"; vip = "{vip}"; port = {port}; protocol = "tcp"; '
                       f'mode = "nat"; backends = ( {bl} ); }}'
                       + ("," if n < len(services) - 1 else ""))
        out.append(");")
    print("\n".join(out))


def main(argv):
    if len(argv) >= 3 and argv[0] == "prefixes" and argv[1] in ("v4", "v6"):
        seed = argv[3] if len(argv) > 3 else "1"
        w = sys.stdout.write
        for p in prefixes(argv[1], int(argv[2]), seed):
            w(p + "\n")
    elif len(argv) == 4 and argv[0] == "nft-drop":
        nft_drop(argv[1], argv[2], argv[3])
    elif len(argv) == 3 and argv[0] == "ipset":
        ipset(argv[1], argv[2])
    elif len(argv) >= 4 and argv[0] == "nft-dnat":
        nft_dnat(argv[1], argv[2], argv[3:])
    elif len(argv) >= 2 and argv[0] == "sluice-conf":
        sluice_conf(argv[1:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
