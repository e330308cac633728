#!/usr/bin/env python3
"""Dependency policy over the resolved graph (`cargo metadata`, i.e. Cargo.lock).

- every package's licence expression must be satisfiable from the allow-list;
- banned crates must not appear at all (native TLS stacks we do not ship, and crates that
  download files at build time, which fail on an offline or registry-only machine).

Exits non-zero with one line per violation. Stdlib only, so it runs on a bare machine.
"""

import json
import re
import subprocess
import sys

ALLOWED = {
    "MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Zlib", "Unicode-3.0",
    # MPL-2.0 is file-level copyleft: using an unmodified crate imposes nothing on our code.
    "MPL-2.0",
}
ALLOWED_EXCEPTIONS = {"LLVM-exception"}

BANNED = {
    "openssl-sys": "we ship rustls with the ring provider; no system OpenSSL",
    "openssl": "we ship rustls with the ring provider; no system OpenSSL",
    "native-tls": "we ship rustls with the ring provider",
    "aws-lc-sys": "ring is our crypto provider until WebRTC needs aws-lc",
    "aws-lc-rs": "ring is our crypto provider until WebRTC needs aws-lc",
    "utoipa-swagger-ui": "downloads Swagger UI at build time",
    "swagger-ui": "downloads Swagger UI at build time",
}

# Our own workspace crates carry the workspace licence; they are checked like the rest.
TOKEN = re.compile(r"\(|\)|[A-Za-z0-9.+-]+")


def licence_ok(expr: str) -> bool:
    """Evaluates an SPDX expression: OR needs one allowed side, AND needs both."""
    expr = expr.replace("/", " OR ")  # old crates write "MIT/Apache-2.0"
    tokens = TOKEN.findall(expr)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary():
        tok = take()
        if tok == "(":
            value = disjunction()
            if take() != ")":
                raise ValueError("unbalanced parenthesis")
        else:
            value = tok.rstrip("+") in ALLOWED
        if peek() == "WITH":
            take()
            value = value and take() in ALLOWED_EXCEPTIONS
        return value

    def conjunction():
        value = primary()
        while peek() == "AND":
            take()
            value = primary() and value
        return value

    def disjunction():
        value = conjunction()
        while peek() == "OR":
            take()
            value = conjunction() or value
        return value

    try:
        result = disjunction()
        return result and pos == len(tokens)
    except (IndexError, ValueError):
        return False


def self_test() -> None:
    """The evaluator itself must fail closed; checked on every run."""
    cases = {
        "MIT OR Apache-2.0": True, "MIT/Apache-2.0": True, "GPL-3.0": False,
        "(MIT OR Apache-2.0) AND Unicode-3.0": True, "MIT AND GPL-2.0": False,
        "Apache-2.0 WITH LLVM-exception": True, "GPL-2.0 WITH LLVM-exception": False,
        "GPL-2.0 OR MIT": True, "(MIT": False, "": False, "MIT OR": False,
        "Unlicense OR MIT": True, "Unlicense": False, "Apache-2.0 / MIT": True,
    }
    for expr, expected in cases.items():
        assert licence_ok(expr) == expected, f"licence_ok({expr!r}) != {expected}"


def main() -> int:
    self_test()
    raw = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        check=True, capture_output=True, text=True,
    ).stdout
    packages = json.loads(raw)["packages"]
    problems = []
    for pkg in packages:
        name, version = pkg["name"], pkg["version"]
        if name in BANNED:
            problems.append(f"{name} {version}: banned: {BANNED[name]}")
        licence = pkg.get("license")
        if not licence:
            problems.append(f"{name} {version}: no SPDX licence expression")
        elif not licence_ok(licence):
            problems.append(f"{name} {version}: licence {licence!r} is not on the allow-list")
    for line in problems:
        print(f"dependency policy: {line}", file=sys.stderr)
    print(f"dependency policy: {len(packages)} packages checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
