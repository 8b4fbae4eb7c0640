#!/usr/bin/env python3
"""Builds the macOS fixture roots the detectors' tests read.

    python3 make-fixtures.py [OUTDIR]     (default: this script's folder)

Writes root-kav/ (Kaspersky installed), root-clean/ (no Kaspersky) and
root-leftovers/ (Kaspersky uninstalled, leftovers only). Property lists
come in both forms macOS writes, XML and binary (plistlib FMT_XML and
FMT_BINARY). Output is deterministic: fixed dates, sorted keys, no
timestamps, so a test can check that the checked-in trees are what this
script makes. Executables are small stand-in files, not Mach-O binaries.
The Kaspersky identifiers come from shared/facts/kaspersky.md, section 5.
"""

import datetime
import os
import plistlib
import shutil
import sys

XML, BIN = plistlib.FMT_XML, plistlib.FMT_BINARY
TEAM = "2Y8XE5CQ94"  # Kaspersky's Apple Team ID
KIS_APP = "/Applications/Kaspersky Internet Security.app"
KIS_EXE = KIS_APP + "/Contents/MacOS/Kaspersky Internet Security"
KAV_BIN = "/Library/Application Support/Kaspersky Lab/KAV/Binaries"
SYSEXT_UUID = "6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8"
STUB = b"#!/bin/sh\n# fixture stand-in for a Mach-O executable\nexit 0\n"


class Root:
    def __init__(self, out, name):
        self.dir = os.path.join(out, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)

    def file(self, rel, data):
        p = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)

    def plist(self, rel, value, fmt):
        self.file(rel, plistlib.dumps(value, fmt=fmt, sort_keys=True))

    def link(self, rel, target):
        p = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.symlink(target, p)

    def system_version(self, version, build, fmt):
        self.plist("System/Library/CoreServices/SystemVersion.plist", {
            "ProductBuildVersion": build,
            "ProductCopyright": "1983-2024 Apple Inc.",
            "ProductName": "macOS",
            "ProductUserVisibleVersion": version,
            "ProductVersion": version,
        }, fmt)

    def preferences(self, system, local, fmt):
        prefs = {"System": {"System": system}}
        if local:
            prefs["System"]["Network"] = {"HostNames": {"LocalHostName": local}}
        self.plist("Library/Preferences/SystemConfiguration/preferences.plist", prefs, fmt)

    def app(self, rel, info, fmt, exe=True):
        info = dict({"CFBundlePackageType": "APPL", "CFBundleDevelopmentRegion": "en"}, **info)
        self.plist(rel + "/Contents/Info.plist", info, fmt)
        if exe:
            self.file(rel + "/Contents/MacOS/" + info["CFBundleExecutable"], STUB)

    def job(self, rel, job, fmt):
        self.plist(rel, job, fmt)

    def receipt(self, dbdir, ident, version, day, fmt):
        base = dbdir + "/receipts/" + ident
        self.plist(base + ".plist", {
            "InstallDate": datetime.datetime(*day, 9, 30, 0),
            "InstallPrefixPath": "/",
            "InstallProcessName": "installer",
            "PackageFileName": ident.rsplit(".", 1)[-1] + ".pkg",
            "PackageIdentifier": ident,
            "PackageVersion": version,
        }, fmt)
        self.file(base + ".bom", b"BOMStore\x00\x00\x00\x01fixture bill of materials\n")

    def kext(self, rel, info, fmt):
        info = dict({"CFBundlePackageType": "KEXT", "CFBundleInfoDictionaryVersion": "6.0"}, **info)
        self.plist(rel + "/Contents/Info.plist", info, fmt)
        self.file(rel + "/Contents/MacOS/" + info["CFBundleExecutable"], STUB)


def kav_sysext(state, short, build):
    return {
        "identifier": "com.kaspersky.kav.sysext",
        "teamID": TEAM,
        "state": state,
        "bundleVersion": {"CFBundleShortVersionString": short, "CFBundleVersion": build},
        "categories": ["com.apple.system_extension.endpoint_security",
                       "com.apple.system_extension.network_extension"],
        "originPath": KIS_APP + "/Contents/Library/SystemExtensions/com.kaspersky.kav.sysext.systemextension",
        "uniqueID": SYSEXT_UUID,
        "stagedBundleURL": {"relative": "file:///Library/SystemExtensions/" + SYSEXT_UUID
                            + "/com.kaspersky.kav.sysext.systemextension/"},
        "container": {"bundlePath": KIS_APP, "bundleShortVersion": short},
        "references": [{"appIdentifier": "com.kaspersky.kav", "teamID": TEAM}],
    }


LULU = {
    "identifier": "com.objective-see.lulu.extension",
    "teamID": "VBG97UB4TA",
    "state": "activated_enabled",
    "bundleVersion": {"CFBundleShortVersionString": "2.6.3", "CFBundleVersion": "2.6.3"},
    "categories": ["com.apple.system_extension.network_extension"],
    "originPath": "/Applications/LuLu.app/Contents/Library/SystemExtensions/com.objective-see.lulu.extension.systemextension",
    "uniqueID": "0A1B2C3D-0000-4000-8000-000000000001",
}

SAFARI = {"CFBundleIdentifier": "com.apple.Safari", "CFBundleName": "Safari",
          "CFBundleExecutable": "Safari"}


def sysext_db(exts):
    return {"bootUUID": "11111111-2222-4333-8444-555555555555",
            "extensionPolicies": [], "extensions": exts, "version": 1}


def root_kav(out):
    r = Root(out, "root-kav")
    r.system_version("14.5", "23F79", BIN)
    r.preferences({"ComputerName": "Alice's MacBook Pro", "ComputerNameEncoding": 0},
                  "Alices-MacBook-Pro", XML)
    r.app("Applications/Kaspersky Internet Security.app", {
        "CFBundleIdentifier": "com.kaspersky.kav",
        "CFBundleName": "Kaspersky Internet Security",
        "CFBundleExecutable": "Kaspersky Internet Security",
        "CFBundleShortVersionString": "21.0.1",
        "CFBundleVersion": "21.0.1.425",
        "NSHumanReadableCopyright": "2023 AO Kaspersky Lab",
    }, BIN)
    # An older install: no short version, a display name, executable gone.
    r.app("Applications/Kaspersky Anti-Virus For Mac.app", {
        "CFBundleIdentifier": "com.kaspersky.kav",
        "CFBundleDisplayName": "Kaspersky Anti-Virus",
        "CFBundleName": "Kaspersky Anti-Virus For Mac",
        "CFBundleExecutable": "kav",
        "CFBundleVersion": "16.0.0.255",
    }, XML, exe=False)
    r.app("Applications/Kaspersky Lab/Kaspersky Agent.app", {
        "CFBundleIdentifier": "com.kaspersky.kav_agent",
        "CFBundleName": "Kaspersky Agent",
        "CFBundleExecutable": "Kaspersky Agent",
        "CFBundleShortVersionString": "21.0.1",
        "LSUIElement": True,
    }, XML)
    r.app("Users/alice/Applications/Kaspersky Downloader.app", {
        "CFBundleIdentifier": "com.kaspersky.kav.downloader",
        "CFBundleName": "Kaspersky Downloader",
        "CFBundleExecutable": "Kaspersky Downloader",
        "CFBundleShortVersionString": "21.0.0",
        "CFBundleVersion": "21.0.0.16",
    }, BIN)
    r.app("Applications/Safari.app", dict(SAFARI, CFBundleShortVersionString="17.5"), BIN)

    # /var is a link to private/var on macOS, as here.
    r.link("var", "private/var")
    r.receipt("private/var/db", "com.kaspersky.kav.core", "21.0.1.425", (2023, 4, 1), BIN)
    r.receipt("private/var/db", "com.apple.pkg.XProtectPayloads_10_15.16U4211",
              "2.0.0.1.1714755540", (2024, 5, 10), XML)
    r.plist("private/var/db/com.apple.xpc.launchd/disabled.plist", {
        "com.apple.ftpd": True,
        "com.kaspersky.avscan": True,
        "com.google.keystone.daemon": False,
    }, BIN)

    r.job("Library/LaunchDaemons/com.kaspersky.kav.plist", {
        "Label": "com.kaspersky.kav",
        "ProgramArguments": [KIS_EXE, "--daemon"],
        "RunAtLoad": True, "KeepAlive": True, "UserName": "root",
    }, XML)
    r.job("Library/LaunchDaemons/com.kaspersky.sysextctrld.plist", {
        "Label": "com.kaspersky.sysextctrld",
        "Program": KAV_BIN + "/sysextctrld",
        "MachServices": {"com.kaspersky.sysextctrld": True},
        "RunAtLoad": True,
    }, BIN)
    # Disabled with launchctl, and its program is gone.
    r.job("Library/LaunchDaemons/com.kaspersky.avscan.plist", {
        "Label": "com.kaspersky.avscan",
        "ProgramArguments": [KAV_BIN + "/avscan", "-d"],
    }, XML)
    # Disabled in its plist, re-enabled with launchctl: the override wins.
    r.job("Library/LaunchDaemons/com.google.keystone.daemon.plist", {
        "Label": "com.google.keystone.daemon",
        "ProgramArguments": ["/Library/Google/GoogleSoftwareUpdate/GoogleSoftwareUpdate.bundle"
                             "/Contents/Helpers/GoogleSoftwareUpdateDaemon"],
        "Disabled": True,
    }, XML)
    r.job("Library/LaunchAgents/com.kaspersky.kav.gui.plist", {
        "Label": "com.kaspersky.kav.gui",
        "ProgramArguments": [KIS_EXE, "--gui"],
        "LimitLoadToSessionType": "Aqua", "RunAtLoad": True,
    }, XML)
    r.job("Users/alice/Library/LaunchAgents/com.google.keystone.agent.plist", {
        "Label": "com.google.keystone.agent",
        "ProgramArguments": ["/Users/alice/Library/Google/GoogleSoftwareUpdate/GoogleSoftwareUpdate.bundle"
                             "/Contents/Resources/GoogleSoftwareUpdateAgent.app/Contents/MacOS/GoogleSoftwareUpdateAgent",
                             "-runMode", "ifneeded"],
        "Disabled": True,
    }, BIN)

    r.plist("Library/SystemExtensions/db.plist",
            sysext_db([kav_sysext("activated_enabled", "21.0.1", "21.0.1.425"), LULU]), XML)
    r.kext("Library/Extensions/klif.kext", {
        "CFBundleIdentifier": "com.kaspersky.kext.klif",
        "CFBundleName": "klif",
        "CFBundleExecutable": "klif",
        "CFBundleVersion": "21.0.1",
    }, XML)
    r.file("Library/Application Support/Kaspersky Lab/KAV/Binaries/config.xml",
           b'<?xml version="1.0" encoding="UTF-8"?>\n<config product="kav" version="21.0.1.425"/>\n')
    r.file("Library/Application Support/Kaspersky Lab/KAV/Binaries/sysextctrld", STUB)


def root_clean(out):
    r = Root(out, "root-clean")
    r.system_version("13.6.7", "22G720", XML)
    r.preferences({"ComputerName": "Build Mac 07", "HostName": "build-mac-07.example.com"},
                  "Build-Mac-07", BIN)
    r.app("Applications/Safari.app", dict(SAFARI, CFBundleShortVersionString="16.6.1"), XML)
    r.app("Applications/Google Chrome.app", {
        "CFBundleIdentifier": "com.google.Chrome",
        "CFBundleName": "Chrome",
        "CFBundleDisplayName": "Google Chrome",
        "CFBundleExecutable": "Google Chrome",
        "CFBundleShortVersionString": "126.0.6478.127",
        "CFBundleVersion": "6478.127",
    }, BIN)
    r.app("Users/bob/Applications/Chrome Apps.localized/Google Docs.app", {
        "CFBundleIdentifier": "com.google.Chrome.app.aohghmighlieiainnegkcijnfilokake",
        "CFBundleDisplayName": "Google Docs",
        "CFBundleName": "Google Docs",
        "CFBundleExecutable": "app_mode_loader",
        "CFBundleShortVersionString": "0.10",
    }, XML)
    r.receipt("var/db", "com.apple.pkg.XProtectPlistConfigData_10_15.16U4211",
              "2.0.0.1.1714755540", (2024, 5, 10), BIN)
    helpers = "/Library/Google/GoogleSoftwareUpdate/GoogleSoftwareUpdate.bundle/Contents/Helpers"
    r.job("Library/LaunchDaemons/com.google.keystone.daemon.plist", {
        "Label": "com.google.keystone.daemon",
        "ProgramArguments": [helpers + "/GoogleSoftwareUpdateDaemon"],
    }, BIN)
    r.file(helpers[1:] + "/GoogleSoftwareUpdateDaemon", STUB)
    r.job("Library/LaunchAgents/com.google.keystone.agent.plist", {
        "Label": "com.google.keystone.agent",
        "ProgramArguments": [helpers + "/GoogleSoftwareUpdateAgent.app/Contents/MacOS/GoogleSoftwareUpdateAgent",
                             "-runMode", "ifneeded"],
        "LimitLoadToSessionType": "Aqua",
    }, XML)
    r.plist("Library/SystemExtensions/db.plist", sysext_db([LULU]), BIN)
    r.kext("Library/Extensions/SoftRAID.kext", {
        "CFBundleIdentifier": "com.softraid.driver.SoftRAID",
        "CFBundleName": "SoftRAID",
        "CFBundleExecutable": "SoftRAID",
        "CFBundleShortVersionString": "8.1",
        "CFBundleVersion": "8.1.0",
    }, BIN)


def root_leftovers(out):
    r = Root(out, "root-leftovers")
    r.system_version("12.7.5", "21H1222", XML)
    r.preferences({"ComputerName": "Reception iMac"}, None, XML)
    r.app("Applications/Safari.app", dict(SAFARI, CFBundleShortVersionString="17.5"), BIN)
    r.job("Library/LaunchDaemons/com.kaspersky.kav.plist", {
        "Label": "com.kaspersky.kav",
        "ProgramArguments": [KIS_EXE, "--daemon"],
        "RunAtLoad": True, "KeepAlive": True,
    }, XML)
    r.plist("var/db/com.apple.xpc.launchd/disabled.plist", {"com.kaspersky.kav": True}, BIN)
    r.plist("Library/SystemExtensions/db.plist", sysext_db([
        kav_sysext("uninstalled", "20.0.3", "20.0.3.120"),
        kav_sysext("terminated_waiting_to_uninstall_on_reboot", "21.0.1", "21.0.1.425"),
    ]), BIN)
    r.kext("Library/StagedExtensions/Library/Extensions/klif.kext", {
        "CFBundleIdentifier": "com.kaspersky.kext.klif",
        "CFBundleName": "klif",
        "CFBundleExecutable": "klif",
        "CFBundleShortVersionString": "11.2.9",
        "CFBundleVersion": "11.2.9.34",
    }, BIN)
    r.file("Library/Application Support/Kaspersky Lab/KAV/Binaries/config.xml",
           b'<?xml version="1.0" encoding="UTF-8"?>\n<config product="kav" version="21.0.1.425"/>\n')


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for build in (root_kav, root_clean, root_leftovers):
        build(out)


if __name__ == "__main__":
    main()
