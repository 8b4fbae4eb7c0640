#!/usr/bin/env python3
"""Builds the offline Windows images the Windows detectors are tested on.

Each image is a folder laid out like a mounted system drive: the hives
Windows/System32/config/SOFTWARE and SYSTEM, Users/<name>/NTUSER.DAT, and
the program, data and driver files the registry points to. The hives are
real regf files: each starts as a copy of empty.hive, which
minimal-hive.py wrote (hivex cannot create a hive from nothing), and
hivexregedit --merge (Debian libwin-hivex-perl)
writes the keys, from the .reg text this script also leaves in src/ for
people to read. Run from this folder: ./make-images.py. Requires
hivexregedit. Names and paths follow ../../../../shared/facts/kaspersky.md
(the banwatch design notes); where the facts do not say (a service's
exact version suffix), the values are plausible, not copied from a
machine.
"""
import hashlib, os, shutil, struct, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
HKLM = "HKEY_LOCAL_MACHINE"

def sz(v):
    if not v.isascii():
        # hivexregedit reads .reg text as bytes, not UTF-8: give it the
        # UTF-16LE that Windows stores.
        return "hex(1):" + ",".join("%02x" % b for b in (v + "\0").encode("utf-16-le"))
    return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')
def dword(n): return "dword:%08x" % n
def expand(v):
    data = (v + "\0").encode("utf-16-le")
    return "hex(2):" + ",".join("%02x" % b for b in data)
def multi(*vs):
    data = "".join(v + "\0" for v in vs).encode("utf-16-le") + b"\0\0"
    return "hex(7):" + ",".join("%02x" % b for b in data)

def binary(data): return "hex:" + ",".join("%02x" % b for b in data)

def cert_store_entry(name):
    """A certificate as Windows keeps it in a registry store: a key named
    by its SHA-1 thumbprint whose Blob is a run of properties (id,
    reserved 1, length, data); property 0x20 is the DER certificate."""
    der = open(os.path.join(HERE, "..", "certs", name), "rb").read()
    sha1 = hashlib.sha1(der).digest()
    blob = b""
    for prop, data in ((3, sha1), (0x20, der)):
        blob += struct.pack("<III", prop, 1, len(data)) + data
    return ("Microsoft\\SystemCertificates\\ROOT\\Certificates\\" + sha1.hex().upper(), {"Blob": binary(blob)})

def reg(prefix, keys):
    """keys: list of (path, {name: reg-value-text}) in order."""
    out, seen = ["Windows Registry Editor Version 5.00", ""], set()
    for path, values in keys:
        parts = path.split("\\")
        for i in range(1, len(parts) + 1):
            k = "\\".join(parts[:i]).lower()
            if k in seen:
                continue
            seen.add(k)
            out.append("[%s\\%s]" % (prefix, "\\".join(parts[:i])))
            if i == len(parts):
                for name, val in values.items():
                    out.append("%s=%s" % ("@" if name == "" else sz(name), val))
            out.append("")
    return "\n".join(out) + "\n"

UNINSTALL = r"Microsoft\Windows\CurrentVersion\Uninstall"
WOW_UNINSTALL = "WOW6432Node\\" + UNINSTALL
PROFILES = r"Microsoft\Windows NT\CurrentVersion\ProfileList"

def windows(product, build, display, guid, users=()):
    keys = [
        (r"Microsoft\Windows NT\CurrentVersion", {"ProductName": sz(product), "CurrentBuild": sz(build),
            "SystemRoot": sz("C:\\WINDOWS"),
            "DisplayVersion": sz(display), "EditionID": sz(product.split()[-1])}),
        (r"Microsoft\Cryptography", {"MachineGuid": sz(guid)}),
        (UNINSTALL + r"\{3F7E7D2C-1B7A-4E8F-9C1D-5A7C0D2B9E11}", {"DisplayName": sz("Microsoft Edge"),
            "Publisher": sz("Microsoft Corporation"), "DisplayVersion": sz("131.0.2903.70")}),
        (UNINSTALL + r"\7-Zip", {"DisplayName": sz("7-Zip 24.08 (x64)"), "Publisher": sz("Igor Pavlov"),
            "DisplayVersion": sz("24.08"), "InstallLocation": sz("C:\\Program Files\\7-Zip\\"),
            "UninstallString": sz('"C:\\Program Files\\7-Zip\\Uninstall.exe"')}),
    ]
    for sid, name in users:
        keys.append((PROFILES + "\\" + sid, {"ProfileImagePath": expand("C:\\Users\\" + name)}))
    return keys

def system(hostname, services):
    keys = [
        ("Select", {"Current": dword(1), "Default": dword(1), "LastKnownGood": dword(2)}),
        (r"ControlSet001\Control\ComputerName\ComputerName", {"ComputerName": sz(hostname)}),
        # A stale control set that must not be read.
        (r"ControlSet002\Services\klif", {"Type": dword(2), "Start": dword(0),
            "ImagePath": expand(r"system32\DRIVERS\klif.sys")}),
        (r"ControlSet001\Services\WinDefend", {"Type": dword(0x10), "Start": dword(2),
            "ImagePath": expand(r'"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe"')}),
        (r"ControlSet001\Services\Tcpip", {"Type": dword(1), "Start": dword(0),
            "ImagePath": expand(r"System32\drivers\tcpip.sys")}),
    ]
    for name, typ, start, image, display in services:
        vals = {"Type": dword(typ), "Start": dword(start), "ImagePath": expand(image)}
        if display:
            vals["DisplayName"] = sz(display)
        keys.append(("ControlSet001\\Services\\" + name, vals))
    return keys

def app(name, publisher, version, location="", uninstall="", extra=None):
    vals = {"DisplayName": sz(name), "Publisher": sz(publisher), "DisplayVersion": sz(version)}
    if location:
        vals["InstallLocation"] = sz(location)
    if uninstall:
        vals["UninstallString"] = sz(uninstall)
    vals.update(extra or {})
    return vals

KES_DIR = r"C:\Program Files (x86)\Kaspersky Lab\KES.12.6.0"
NAGENT_DIR = r"C:\Program Files (x86)\Kaspersky Lab\NetworkAgent"
AVSTATE = r"WOW6432Node\KasperskyLab\Components\34\1103\1.0.0.0\Statistics\AVState"
KES_DRIVERS = [
    ("klif", 2, 0, r"\SystemRoot\System32\DRIVERS\klif.KES-12-6.sys", "Kaspersky Lab Driver"),
    ("klhk", 1, 0, r"system32\DRIVERS\klhk.sys", "Kaspersky Lab service driver"),
    ("klflt", 2, 0, r"\SystemRoot\System32\DRIVERS\klflt.KES-12-6.sys", ""),
    ("kneps", 1, 1, r"system32\DRIVERS\kneps.sys", "Kaspersky Lab NDIS 6 Filter"),
    ("klwfp", 1, 1, r"system32\DRIVERS\klwfp.sys", ""),
    ("cm_km", 1, 1, r"system32\DRIVERS\cm_km.sys", ""),
    ("klupd_KES-12-6_arkmon", 1, 3, r"\SystemRoot\System32\DRIVERS\klupd_KES-12-6_arkmon.sys", ""),
]

IMAGES = {
    # KES 12.6 and the Network Agent, both 32-bit products on 64-bit
    # Windows (registered under WOW6432Node only), managed by KSC, with a
    # logged-off user who has no Kaspersky software.
    "win11-kes": {
        "SOFTWARE": windows("Windows 10 Enterprise", "22631", "23H2", "6c0e5b8e-0f6a-4c2f-9a51-3b8f3f0e1a01",
                            [("S-1-5-21-1004336348-1177238915-682003330-1001", "alice")]) + [
            (WOW_UNINSTALL + r"\{6F2B39D1-8D5E-4C3B-9A2A-0C6F4E7B1A26}",
             app("Kaspersky Endpoint Security for Windows", "AO Kaspersky Lab", "12.6.0.438", KES_DIR + "\\",
                 "MsiExec.exe /X{6F2B39D1-8D5E-4C3B-9A2A-0C6F4E7B1A26}")),
            (WOW_UNINSTALL + r"\{BCF4CF24-88AB-45E1-A6E6-40C8278A70C5}",
             app("Kaspersky Security Center Network Agent", "Kaspersky", "14.2.0.26967", NAGENT_DIR + "\\",
                 "MsiExec.exe /I{BCF4CF24-88AB-45E1-A6E6-40C8278A70C5}")),
            (r"WOW6432Node\KasperskyLab\protected\KES.12.6.0\environment",
             {"ProductVersion": sz("12.6.0.438"), "ProductDisplayVersion": sz("12.6.0.438")}),
            (r"WOW6432Node\KasperskyLab\protected\KES.12.6.0\settings", {"EnableSelfProtection": dword(1)}),
            (r"WOW6432Node\KasperskyLab\protected\KES.12.6.0\Data", {"LastSuccessfulUpdate": dword(1727410260)}),
            (AVSTATE, {"Protection_AvInstalled": sz("1"), "Protection_AvRunning": sz("1"),
                       "Protection_RtpState": sz("3"), "Protection_BasesDate": sz("27-09-2024 04-11-00"),
                       "Protection_LastConnected": sz("24-11-2026 22-15-03"),
                       "Protection_AdmServer": sz("ksc.corp.example.com")}),
        ],
        "SYSTEM": system("WS-KES-01", [
            ("AVP.KES.12.6.0", 0x10, 2, '"' + KES_DIR + r'\avp.exe" -r', "Kaspersky Endpoint Security Service"),
            ("klnagent", 0x10, 2, '"' + NAGENT_DIR + r'\klnagent.exe"', "Kaspersky Security Center Network Agent"),
            ("avpsus", 0x10, 2, '"' + KES_DIR + r'\avpsus.exe"', "Kaspersky Seamless Update Service"),
        ] + KES_DRIVERS),
        "users": {"alice": [(UNINSTALL + r"\ZoomUMX", app("Zoom Workplace", "Zoom Communications, Inc.", "6.2.11"))]},
        "files": [KES_DIR + r"\avp.exe", KES_DIR + r"\avpsus.exe", NAGENT_DIR + r"\klnagent.exe",
                  r"C:\ProgramData\Kaspersky Lab\KES.12.6.0\Bases\u1313g.xml",
                  r"C:\Windows\System32\drivers\klif.KES-12-6.sys", r"C:\Windows\System32\drivers\klhk.sys",
                  r"C:\Windows\System32\drivers\klflt.KES-12-6.sys", r"C:\Windows\System32\drivers\kneps.sys",
                  r"C:\Windows\System32\drivers\klwfp.sys", r"C:\Windows\System32\drivers\cm_km.sys",
                  r"C:\Windows\System32\drivers\klupd_KES-12-6_arkmon.sys", r"C:\Windows\System32\drivers\tcpip.sys",
                  r"C:\Program Files\7-Zip\Uninstall.exe"],
    },
    # A branch office PC that still gets updates from a Kaspersky Security
    # Center server after the US cut-off: its bases are of 2026-11-20.
    "win10-kes-managed": {
        "SOFTWARE": windows("Windows 10 Pro", "19045", "22H2", "3a2b1c0d-9e8f-4a7b-b6c5-d4e3f2a1b007") + [
            (WOW_UNINSTALL + r"\{6F2B39D1-8D5E-4C3B-9A2A-0C6F4E7B1A26}",
             app("Kaspersky Endpoint Security for Windows", "AO Kaspersky Lab", "12.6.0.438", KES_DIR + "\\",
                 "MsiExec.exe /X{6F2B39D1-8D5E-4C3B-9A2A-0C6F4E7B1A26}")),
            (WOW_UNINSTALL + r"\{BCF4CF24-88AB-45E1-A6E6-40C8278A70C5}",
             app("Kaspersky Security Center Network Agent", "Kaspersky", "14.2.0.26967", NAGENT_DIR + "\\",
                 "MsiExec.exe /I{BCF4CF24-88AB-45E1-A6E6-40C8278A70C5}")),
            (AVSTATE, {"Protection_AvInstalled": sz("1"), "Protection_AvRunning": sz("1"),
                       "Protection_BasesDate": sz("20-11-2026 03-00-00"),
                       "Protection_LastConnected": sz("24-11-2026 22-15-03"),
                       "Protection_AdmServer": sz("ksc.branch.example.com")}),
        ],
        "SYSTEM": system("BR-PC-07", [
            ("AVP.KES.12.6.0", 0x10, 2, '"' + KES_DIR + r'\avp.exe" -r', "Kaspersky Endpoint Security Service"),
            ("klnagent", 0x10, 2, '"' + NAGENT_DIR + r'\klnagent.exe"', "Kaspersky Security Center Network Agent"),
        ]),
        "files": [KES_DIR + r"\avp.exe", NAGENT_DIR + r"\klnagent.exe"],
    },
    # A Russian-language home PC: Kaspersky Total Security 21.3 with the
    # publisher in Cyrillic and drivers in a versioned folder, and a user
    # who is not logged on with a per-user Kaspersky install.
    "win10-kts-ru": {
        "SOFTWARE": windows("Windows 10 Home", "19045", "22H2", "0b8b1c2a-7d0e-4b55-8f61-2f2d6a1c9e02",
                            [("S-1-5-21-3623811015-3361044348-30300820-1001", "ivan")]) + [
            (WOW_UNINSTALL + r"\InstallWIX_{4A0E0F4C-E3E7-4C7A-9C8E-5A1F0B2C3D21}",
             app("Kaspersky Total Security", "АО «Лаборатория Касперского»", "21.3.10.391",
                 r"C:\Program Files (x86)\Kaspersky Lab\Kaspersky Total Security 21.3" + "\\",
                 r'"C:\ProgramData\Package Cache\{4A0E0F4C}\startup.exe" /x')),
            (r"WOW6432Node\KasperskyLab\protected\AVP21.3\environment", {"ProductVersion": sz("21.3.10.391")}),
        ],
        "SYSTEM": system("ДОМАШНИЙ-ПК", [
            ("AVP21.3", 0x10, 2, r'"C:\Program Files (x86)\Kaspersky Lab\Kaspersky Total Security 21.3\avp.exe" -r',
             "Kaspersky Anti-Virus Service 21.3"),
            ("klif", 2, 0, r"system32\DRIVERS\K4W-21-3\klif.sys", "Kaspersky Lab Driver"),
            ("klhk", 1, 0, r"system32\DRIVERS\K4W-21-3\klhk.sys", ""),
            ("klbackupflt", 2, 0, r"system32\DRIVERS\K4W-21-3\klbackupflt.sys", ""),
        ]),
        "users": {"ivan": [
            (UNINSTALL + r"\Kaspersky Password Manager",
             app("Kaspersky Password Manager", "Лаборатория Касперского", "9.2.106",
                 r"C:\Users\ivan\AppData\Local\Kaspersky Lab\Kaspersky Password Manager 9.2" + "\\")),
        ]},
        "files": [r"C:\Program Files (x86)\Kaspersky Lab\Kaspersky Total Security 21.3\avp.exe",
                  r"C:\Windows\System32\drivers\K4W-21-3\klif.sys", r"C:\Windows\System32\drivers\K4W-21-3\klhk.sys",
                  r"C:\Windows\System32\drivers\K4W-21-3\klbackupflt.sys",
                  r"C:\ProgramData\Kaspersky Lab\AVP21.3\Bases\u1313g.xml",
                  r"C:\Users\ivan\AppData\Local\Kaspersky Lab\Kaspersky Password Manager 9.2\kpm.exe"],
    },
    # 32-bit Windows 7: no WOW6432Node at all; Kaspersky Anti-Virus 18.
    "win7-x86-kav": {
        "SOFTWARE": windows("Windows 7 Professional", "7601", "", "2b0d3c4e-5f60-4a7b-8c9d-0e1f2a3b4c03") + [
            (UNINSTALL + r"\InstallWIX_{7C3E7FCB-0A5C-4F29-9E1C-2B4F6D8A0E13}",
             app("Kaspersky Anti-Virus", "Kaspersky Lab", "18.0.0.405",
                 r"C:\Program Files\Kaspersky Lab\Kaspersky Anti-Virus 18.0.0" + "\\")),
            (r"KasperskyLab\protected\AVP18.0.0\environment", {"ProductVersion": sz("18.0.0.405")}),
        ],
        "SYSTEM": system("OLD-PC", [
            ("AVP18.0.0", 0x10, 2, r'"C:\Program Files\Kaspersky Lab\Kaspersky Anti-Virus 18.0.0\avp.exe" -r',
             "Kaspersky Anti-Virus Service"),
            ("klif", 2, 0, r"system32\DRIVERS\klif.sys", "Kaspersky Lab Driver"),
        ]),
        "files": [r"C:\Program Files\Kaspersky Lab\Kaspersky Anti-Virus 18.0.0\avp.exe",
                  r"C:\Windows\System32\drivers\klif.sys"],
    },
    # A server with only the KSC Network Agent (no anti-virus installed).
    "winsrv-nagent": {
        "SOFTWARE": windows("Windows Server 2019 Standard", "17763", "", "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b04") + [
            (WOW_UNINSTALL + r"\{BCF4CF24-88AB-45E1-A6E6-40C8278A70C5}",
             app("Kaspersky Security Center Network Agent", "Kaspersky Lab", "13.2.0.1511", NAGENT_DIR + "\\",
                 "MsiExec.exe /I{BCF4CF24-88AB-45E1-A6E6-40C8278A70C5}")),
            (AVSTATE, {"Protection_AvInstalled": sz("0"), "Protection_AvRunning": sz("0"),
                       "Protection_LastConnected": sz("25-11-2026 01-00-00"),
                       "Protection_AdmServer": sz("10.1.2.3")}),
        ],
        "SYSTEM": system("FS-01", [
            ("klnagent", 0x10, 2, '"' + NAGENT_DIR + r'\klnagent.exe"', "Kaspersky Security Center Network Agent"),
        ]),
        "files": [NAGENT_DIR + r"\klnagent.exe"],
    },
    # A home PC moved to UltraAV in September 2024: UltraAV is installed;
    # Kaspersky left registry keys, a data folder and a driver entry whose
    # file is gone.
    "win11-ultraav": {
        "SOFTWARE": windows("Windows 10 Home", "22631", "23H2", "5d4c3b2a-1908-4e7f-a6b5-c4d3e2f1a005") + [
            # The root certificate Kaspersky added for web scanning stays
            # trusted after the move.
            cert_store_entry("kaspersky-personal-root.der"),
            (UNINSTALL + r"\UltraAV", app("UltraAV", "Pango GmbH", "1.4.0.137",
                                           r"C:\Program Files\UltraAV" + "\\",
                                           r'"C:\Program Files\UltraAV\uninstall.exe"')),
            (r"WOW6432Node\KasperskyLab\protected\AVP21.16\environment", {"ProductVersion": sz("21.16.6.467")}),
            # An uninstall entry the removal left behind: its folder and
            # uninstaller are gone.
            (WOW_UNINSTALL + r"\InstallWIX_{B2D9A5F4-1C0E-4F5B-8E6A-7A3C2D1B0F14}",
             app("Kaspersky Standard", "Kaspersky", "21.16.6.467",
                 r"C:\Program Files (x86)\Kaspersky Lab\Kaspersky 21.16" + "\\",
                 r'"C:\Program Files (x86)\Kaspersky Lab\Kaspersky 21.16\uninstall.exe" /x')),
        ],
        "SYSTEM": system("HOME-PC", [
            ("UltraAVService", 0x10, 2, r'"C:\Program Files\UltraAV\UltraAVService.exe"', "UltraAV Service"),
            ("klif", 2, 4, r"system32\DRIVERS\K4W-21-16\klif.sys", "Kaspersky Lab Driver"),
        ]),
        "files": [r"C:\Program Files\UltraAV\UltraAVService.exe", r"C:\Program Files\UltraAV\uninstall.exe",
                  r"C:\ProgramData\Kaspersky Lab\AVP21.16\Data\settings.dat"],
    },
    # No Kaspersky: Defender, and names that look alike but are not
    # Kaspersky's (a "Kasper" publisher, a driver named klim).
    "win11-clean": {
        "SOFTWARE": windows("Windows 11 Pro", "26100", "24H2", "8f7e6d5c-4b3a-4291-8807-f6e5d4c3b206") + [
            cert_store_entry("example-root.der"),
            (UNINSTALL + r"\KasperTech Backup", app("KasperTech Backup", "Kasper Technologies GmbH", "3.1",
                                                     r"C:\Program Files\KasperTech" + "\\")),
        ],
        "SYSTEM": system("CLEAN-PC", [("klim", 1, 3, r"system32\drivers\klim.sys", "Kensington Lock Input Monitor")]),
        "files": [r"C:\Program Files\KasperTech\backup.exe"],
    },
}

def merge(hive, prefix, regtext, srcpath):
    os.makedirs(os.path.dirname(srcpath), exist_ok=True)
    with open(srcpath, "w", encoding="utf-8") as f:
        f.write(regtext)
    os.makedirs(os.path.dirname(hive), exist_ok=True)
    shutil.copyfile(os.path.join(HERE, "empty.hive"), hive)
    subprocess.run(["hivexregedit", "--merge", "--prefix", prefix, hive, srcpath], check=True)

def touch(root, winpath):
    rel = winpath[3:].replace("\\", "/")  # drop "C:\"
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(b"MZ fixture\n")

def build(out, srcdir):
    for name, img in IMAGES.items():
        root = os.path.join(out, name)
        shutil.rmtree(root, ignore_errors=True)
        src = os.path.join(srcdir, name)
        cfg = os.path.join(root, "Windows", "System32", "config")
        for hive in ("SOFTWARE", "SYSTEM"):
            prefix = HKLM + "\\" + hive
            merge(os.path.join(cfg, hive), prefix, reg(prefix, img[hive]), os.path.join(src, hive + ".reg"))
        for user, keys in img.get("users", {}).items():
            merge(os.path.join(root, "Users", user, "NTUSER.DAT"), "HKEY_CURRENT_USER",
                  reg("HKEY_CURRENT_USER", [("Software\\" + k, v) for k, v in keys]),
                  os.path.join(src, "Users", user, "NTUSER.DAT.reg"))
        # Every drive has these folders; files stand for their contents,
        # as git keeps no empty folders.
        standard = [r"C:\Program Files\Common Files\System\desktop.ini"]
        if "x86" not in name:
            standard.append(r"C:\Program Files (x86)\Common Files\System\desktop.ini")
        for f in standard + img.get("files", []):
            touch(root, f)

if __name__ == "__main__":
    # ./make-images.py [OUT SRC]: the images and their .reg sources; by
    # default images/ and src/ here.
    if len(sys.argv) == 3:
        build(sys.argv[1], sys.argv[2])
    else:
        build(os.path.join(HERE, "images"), os.path.join(HERE, "src"))
