"""Build hook: compile the native RTP relay (`kefu.telephony.sip._relay`) with the system C
compiler, for wheels and editable installs alike. Without a compiler the package still
installs and the switch relays RTP in Python (slower); the test suite checks it was built."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/kefu/telephony/sip/_relay.c")


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc,type-arg,unused-ignore]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        src = root / SOURCE
        out = src.with_name("_relay" + str(sysconfig.get_config_var("EXT_SUFFIX")))
        cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            print("kefu: no C compiler: RTP is relayed in Python (slower)", file=sys.stderr)
            return
        cmd = [
            cc,
            "-O2",
            "-shared",
            "-fPIC",
            "-pthread",
            "-Wall",
            f"-I{sysconfig.get_paths()['include']}",
            str(src),
            "-o",
            str(out),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            print(
                f"kefu: building {SOURCE} failed, RTP is relayed in Python:\n{result.stderr}",
                file=sys.stderr,
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["artifacts"].append(str(out.relative_to(root)))
