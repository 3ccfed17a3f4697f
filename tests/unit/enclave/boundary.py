#!/usr/bin/env python3
"""The enclave boundary (DESIGN.md §3): the enclave core, and every object of the layers below
it that the core pulls in (transitively), may call libsodium, jansson's parser and pure libc,
and nothing that reaches files, sockets, clocks, the environment or other processes.

Usage: boundary.py ENCLAVE_LIB LOWER_LIB...
Exits 1 and lists each offending symbol with the object that needs it."""
import re
import subprocess
import sys

ALLOWED = re.compile(
    r"^(mem(cpy|move|set|cmp|chr)|bcmp|str(len|nlen|cmp|ncmp|chr|rchr|cpy|ncpy|tol|toul|toull|spn|cspn)"
    r"|v?snprintf|malloc|calloc|realloc|free|qsort|bsearch|abort|__assert_fail|__stack_chk_fail"
    r"|__(memcpy|memset|memmove|snprintf|vsnprintf|strcpy|strncpy)_chk|__ctype_b_loc"
    r"|__ctype_(tolower|toupper)_loc|_GLOBAL_OFFSET_TABLE_|__tls_get_addr|__errno_location"
    r"|__(ubsan|asan|sanitizer|sancov|msan|lsan)_.*|__(start|stop)___sancov_.*"
    r"|stpcpy|__udivti3|__umodti3|__udivmodti4|__divti3|__modti3"
    # libsodium (its CSPRNG is RDRAND-backed inside Gramine), jansson's parser.
    r"|sodium_.*|crypto_.*|randombytes_buf|json_.*|jansson_.*"
    r"|pthread_mutex_(lock|unlock|init|destroy)|pthread_once)$")


def objects(lib):
    """{object: (defined symbols, undefined symbols)} of a static library."""
    out = subprocess.run(["nm", "-A", "--format=posix", lib], check=True, capture_output=True,
                         text=True).stdout
    objs = {}
    for line in out.splitlines():
        m = re.match(r"^(.*?)\[(.*?)\]: (\S+) (\w)", line)
        if not m:
            continue
        obj = m.group(1) + "[" + m.group(2) + "]"
        defs, undefs = objs.setdefault(obj, (set(), set()))
        (undefs if m.group(4) == "U" else defs).add(m.group(3))
    if not objs:
        sys.exit(f"nm listed no objects in {lib}")
    return objs


def main():
    core = objects(sys.argv[1])
    lower = {}
    for lib in sys.argv[2:]:
        lower.update(objects(lib))
    provider = {s: o for o, (defs, _) in lower.items() for s in defs}
    closure, todo = dict(core), list(core)
    while todo:
        for sym in closure[todo.pop()][1]:
            obj = provider.get(sym)
            if obj and obj not in closure:
                closure[obj] = lower[obj]
                todo.append(obj)
    defined = set().union(*(d for d, _ in closure.values()))
    bad = sorted((sym, obj) for obj, (_, undefs) in closure.items() for sym in undefs
                 if sym not in defined and not ALLOWED.match(sym))
    for sym, obj in bad:
        print(f"outside the enclave boundary: {sym} (needed by {obj})")
    names = sorted(o.split("[")[1].rstrip("]") for o in closure)
    print(f"enclave closure: {len(closure)} objects: {' '.join(names)}")
    sys.exit(1 if bad else 0)


main()
