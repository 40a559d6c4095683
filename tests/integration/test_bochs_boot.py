"""Boot tests under Bochs 2.7 with OVMF (issue 4): the same USB image that
QEMU boots reaches the shell on an emulated Intel processor with VT-x and
names the vmx back end, and on an emulated AMD Ryzen naming svm.

OVMF on Bochs publishes no ACPI tables and leaves IA32_FEATURE_CONTROL
unlocked, so these runs cover hako's paths for both (processor probing,
enabling and locking VMX itself). Bochs runs ~110 M instructions/s: one
machine per processor model, shared by the module's tests.
"""
import re

import pytest

from hako import Bochs


def host_field(out, key):
    m = re.search(r"^%s: (.*)$" % key, out, re.M)
    assert m, "host output lacks '%s:'\n%s" % (key, out)
    return m.group(1)


@pytest.fixture(scope="module")
def intel():
    m = Bochs(model="corei7_haswell_4770", cpus=2, mem_mb=512, name="bochs-boot-intel")
    m.start()
    m.wait_prompt()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def amd():
    m = Bochs(model="ryzen", cpus=2, mem_mb=512, name="bochs-boot-ryzen")
    m.start()
    m.wait_prompt()
    yield m
    m.stop()


def test_intel_version_names_vmx(intel):
    # Log lines printed after the first prompt (network set-up) may precede it.
    out = intel.cmd("version")
    assert re.search(r"^hako \d+\.\d+\.\d+ \(vmx\)$", out, re.M), out


def test_intel_host_shows_both_cores(intel):
    out = intel.cmd("host")
    cores = host_field(out, "cores")
    assert cores.startswith("2 total, 1 service, 1 free"), cores


def test_intel_backend_has_ept_and_unrestricted_guest(intel):
    backend = host_field(intel.cmd("host"), "backend")
    assert backend.startswith("vmx (VT-x with EPT"), backend
    assert "unrestricted guest" in backend, backend


def test_intel_firmware_left_vmx_unlocked(intel):
    # OVMF on Bochs does not lock IA32_FEATURE_CONTROL: hako must say it
    # enables VT-x itself (TESTING.md).
    log = intel.cmd("log")
    assert "firmware left VT-x unlocked, hako enables it" in log, log


def test_intel_memory_protection(intel):
    """Issue 17 finding 2, on VT-x: the AP starts with EFER.NXE and the audit holds."""
    log = intel.cmd("log")
    assert "memory protection: page 0 unmapped, text RX, rodata R, data NX" in log, log
    assert "smp: 2 cores online" in log, log


def test_amd_version_names_svm(amd):
    out = amd.cmd("version")
    assert re.search(r"^hako \d+\.\d+\.\d+ \(svm\)$", out, re.M), out
    backend = host_field(amd.cmd("host"), "backend")
    assert backend.startswith("svm (AMD-V with nested paging"), backend
    assert host_field(amd.cmd("host"), "cores").startswith("2 total, 1 service, 1 free")
