"""`crucible check` end to end: exit codes 0/1/2/3, analysis.json and the HTML view, on the shared histories."""
import subprocess

from conftest import ROOT


def test_check_command_exit_codes_and_outputs():
    result = subprocess.run(["bash", str(ROOT / "Scripts" / "verify-check-cli.sh")], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
