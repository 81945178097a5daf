from nethical.cli import main


def test_bare_nethical_lists_every_command(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    for command in ("fit", "predict --model-dir", "audit", "governance scan", "drift report"):
        assert command in out
    assert main(["--help"]) == 0


def test_tool_commands_do_not_import_lightning(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from nethical.cli import main; main(['audit', 'verify', sys.argv[1]]); "
            "print('lightning' in sys.modules, 'torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    assert proc.stdout.strip().splitlines()[-1] == "False False", proc.stdout + proc.stderr
