"""tools/hako-passwd makes hashes with the iteration count hako itself uses
for new ones (mgmt/auth.h AUTH_ITERATIONS; issue 17 finding 9), and hako
checks what it makes."""
import os
import re
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def auth_iterations():
    text = open(os.path.join(ROOT, "mgmt", "auth.h"), encoding="utf-8").read()
    m = re.search(r"^#define AUTH_ITERATIONS (\d+)\s*$", text, re.M)
    assert m, "mgmt/auth.h defines no AUTH_ITERATIONS"
    return int(m.group(1))


def test_hako_passwd_default_matches_auth_h():
    p = subprocess.run([os.path.join(ROOT, "tools", "hako-passwd"), "--stdin", "admin"],
                       input="pw\n", stdout=subprocess.PIPE, check=True, text=True)
    m = re.fullmatch(r"user=admin:pbkdf2-sha256\$(\d+)\$[0-9a-f]{32}\$[0-9a-f]{64}\n", p.stdout)
    assert m, p.stdout
    assert int(m.group(1)) == auth_iterations()
