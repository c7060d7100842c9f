"""Register attacks and slips at the command line: refused with file:line, at bounded cost.

``tests/test_register_loading.py`` and ``tests/test_register_validation.py`` prove the
loader refuses each of these; here every one goes through ``modelhealth thresholds
validate`` (and the commands that load a register on the way: ``check``, ``ladder``) in
its own process: exit 2, every problem on its own ``file:line: field: reason`` line, no
traceback, no side effect of a Python tag. The YAML bomb, the 50 MB file and the deep
nesting run in a fresh interpreter whose peak memory and time are measured against a
valid register's.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_corpus import CliProcesses, shared_cli

ROOT = Path(__file__).resolve().parents[1]
VALID = (ROOT / "data" / "register.yaml").read_text()


def _python_tag(folder: Path) -> str:
    marker = folder / "pwned"
    return (
        "name: x\nmodels:\n  - id: m\n    owner: !!python/object/apply:os.system "
        f"['touch {marker}']\n    description: !!python/name:os.system\n"
    )


def _bomb(_: Path) -> str:
    lines = ["name: bomb", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join([*lines, "models: []"]) + "\n"


def _merge_bomb(_: Path) -> str:
    lines = ["name: merge-bomb", "b0: &b0 {k0: 1, k1: 2, k2: 3, k3: 4}"]
    lines += [
        f"b{i}: &b{i} {{" + ", ".join(f"c{j}: *b{i - 1}" for j in range(8)) + "}"
        for i in range(1, 9)
    ]
    return "\n".join([*lines, "models: []"]) + "\n"


def _huge(_: Path) -> str:
    model = "  - id: m{i}\n    owner: alice\n    description: " + "x" * 200 + "\n"
    return "name: big\nmodels:\n" + "".join(model.format(i=i) for i in range(200_000))


def _deep_sequence(_: Path) -> str:
    return "name: deep\nmodels: []\nx: " + "[" * 10_000 + "]" * 10_000 + "\n"


def _deep_mapping(_: Path) -> str:
    return (
        "name: deep\nmodels: []\n"
        + "".join(" " * i + f"k{i}:\n" for i in range(300))
        + (" " * 300 + "v: 1\n")
    )


def _typos(_: Path) -> str:
    return (
        "name: typos\npeople: {alice: [model_owner]}\nmodels:\n  - id: m\n    owner: alice\n"
        "    tresholds: {error_rate: {max: 0.1}}\n    thresholds:\n"
        "      latency_ms: {p50: 100, p59: 300}\n      eror_rate: {max: 0.1}\n"
    )


def _contradictions(_: Path) -> str:
    return (
        "name: contradictions\npeople: {alice: [model_owner]}\nmodels:\n  - id: m\n"
        "    owner: alice\n    output_types: [answer]\n    thresholds:\n"
        "      latency_ms: {p50: 900, p95: 300, p99: 100}\n"
        "      confidence: {min: 0.6, auto: 0.5, review: 0.7}\n"
        "      error_rate: {max: 1.5, by_output_type: {json: 0.1}}\n"
        "    ladder:\n      rules: {persistence_k: 5, persistence_n: 2}\n"
        "      budget: {amount: -5}\n  - id: m\n    owner: alice\n"
    )


def _slips(_: Path) -> str:
    return (
        "name: slips\nname: again\npeople: {alice: [model_owner]}\n"
        "identity: {source: ldap, allow_as: maybe}\n"
        "defaults:\n  windows: {current: 1 day, reference: -28d}\n"
        "  thresholds: {error_rate: {max: .inf}, confidence: {min: .nan}}\n"
        "models:\n  - id: m\n    owner: alice\n    approver_roles: [nobody_has_this]\n"
    )


def _not_utf8(_: Path) -> bytes:
    return "name: caf\xe9\nmodels: []\n".encode("latin-1")


def _binary(_: Path) -> bytes:
    return bytes(range(256)) * 64


def _top_level_list(_: Path) -> str:
    return "- name: x\n- models: []\n"


def _empty(_: Path) -> str:
    return ""


def _tabs_and_junk(_: Path) -> str:
    return "name: x\nmodels:\n\t- id: m\n  owner: [unclosed\n"


def _yaml11_surprises(_: Path) -> str:
    """YAML 1.1 reads these as numbers and booleans their writer did not mean (issue 17)."""
    return (
        "name: surprises\npeople: {alice: [model_owner], bob: [model_owner]}\n"
        "identity: {allow_as: yes}\n"  # a yes/no setting: yes is fine here
        "defaults:\n  thresholds:\n    latency_ms: {p50: 45, p95: 1:30}\n"
        "models:\n  - id: m\n    owner: alice\n    output_types: [answer, no]\n"
        "    thresholds: {min_samples: 0755, drift: {enabled: off, sample_size: 0b1111101000}}\n"
        "  - id: n\n    owner: on\n"
    )


def _ambiguous_ids(_: Path) -> str:
    return (
        "name: ambiguous\npeople: {alice: [model_owner]}\nmodels:\n"
        "  - {id: support-bot, owner: alice}\n  - {id: Support-Bot, owner: alice}\n"
        "  - {id: ' support-bot', owner: alice}\n  - {id: 'triage ', owner: alice}\n"
    )


ATTACKS: dict[str, tuple[Callable[[Path], str | bytes], tuple[str, ...]]] = {
    "python-object-tags": (_python_tag, ("YAML tag", "is not allowed")),
    "billion-laughs": (_bomb, ("expands to more than", "billion laughs")),
    "merge-key-bomb": (_merge_bomb, ("expands to more than",)),
    "fifty-megabytes": (_huge, ("MB; a register may be at most 5 MB",)),
    "deep-sequence": (_deep_sequence, ("nested deeper than 40 levels",)),
    "deep-mapping": (_deep_mapping, ("nested deeper than 40 levels",)),
    "typos-in-keys": (
        _typos,
        ("did you mean 'thresholds'?", "did you mean 'p99'?", "did you mean 'error_rate'?"),
    ),
    "contradictory-limits": (
        _contradictions,
        (
            "p95 limit 300 ms is below the p50 limit 900 ms",
            "review band starts at 0.7, above the auto band at 0.5",
            "less than or equal to 1",
            "'json' is not among output_types",
            "the rule could never fire",
            "duplicate model id 'm'",
        ),
    ),
    "slips-and-non-finite-limits": (
        _slips,
        (
            "duplicate key",
            "'os_user' or 'env'",
            "not a duration",
            "finite number",
            "held by nobody",
        ),
    ),
    "not-utf8": (_not_utf8, ("is not UTF-8 text",)),
    "binary-garbage": (_binary, ("not",)),
    "a-list-not-a-mapping": (_top_level_list, ("must be a YAML mapping",)),
    "empty-file": (_empty, ("the register is empty",)),
    "tabs-and-unclosed-brackets": (_tabs_and_junk, ("not valid YAML",)),
    "yaml-1-1-numbers-and-booleans": (
        _yaml11_surprises,
        (
            ":6: defaults.thresholds.latency_ms.p95: '1:30' is read as 90 (YAML 1.1 base-60",
            ":10: models[0].output_types[1]: 'no' is read as the boolean false (YAML 1.1)",
            ":11: models[0].thresholds.min_samples: '0755' is read as 493 (YAML 1.1 octal",
            ":11: models[0].thresholds.drift.sample_size: '0b1111101000' is read as 1000",
            ":13: models[1].owner: 'on' is read as the boolean true",
            "5 problems",
        ),
    ),
    "model-ids-differing-by-case-or-spaces": (
        _ambiguous_ids,
        (
            ":5: models[1].id: model id 'Support-Bot' differs from 'support-bot' (models[0]) "
            "only by case or surrounding whitespace",
            ":6: models[2].id: model id ' support-bot' has surrounding whitespace",
            ":7: models[3].id: model id 'triage ' has surrounding whitespace",
            "3 problems",
        ),
    ),
}


@pytest.fixture(scope="module")
def cli() -> CliProcesses:
    return shared_cli()


@pytest.fixture(scope="module")
def attack_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("attacks")
    files = {}
    for name, (build, _) in ATTACKS.items():
        content = build(folder)
        path = folder / f"{name}.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        files[name] = path
    return files


@pytest.mark.parametrize("name", list(ATTACKS))
def test_validate_refuses_each_attack_with_file_line_messages(
    name: str, attack_files: dict[str, Path], cli: CliProcesses
) -> None:
    path = attack_files[name]
    result = cli.run(["thresholds", "validate", str(path)])
    assert result.code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    header, *problems = result.stderr.rstrip("\n").splitlines()
    count = int(re.match(r"error: (\d+) problems? in register ", header).group(1))  # type: ignore[union-attr]
    assert len(problems) == count >= 1
    line = re.compile(rf"^  {re.escape(str(path))}(:\d+)?: \S.*: .+$")
    for problem in problems:
        assert line.match(problem), problem
    for words in ATTACKS[name][1]:
        assert words in result.stderr, (words, result.stderr)
    assert not (path.parent / "pwned").exists()


def test_every_command_that_loads_a_register_refuses_it_the_same_way(
    attack_files: dict[str, Path], cli: CliProcesses, tmp_path: Path
) -> None:
    path = attack_files["contradictory-limits"]
    validate = cli.run(["thresholds", "validate", str(path)])
    problems = [p.strip() for p in validate.stderr.splitlines()[1:]]
    logs = ROOT / "data" / "demo" / "logs" / "date=2026-10-16"
    commands = [
        ["check", "--register", str(path), "--logs", str(logs), "--out", str(tmp_path / "o")],
        ["ladder", "status", "--register", str(path), "--state", f"sqlite:///{tmp_path / 's.db'}"],
        [
            "ladder",
            "approve",
            "step-1",
            "--as",
            "bob",
            "--register",
            str(path),
            "--state",
            f"sqlite:///{tmp_path / 's.db'}",
        ],
        ["thresholds", "show", str(path)],
        ["thresholds", "render", str(path)],
    ]
    for result in cli.run_together(commands):
        assert result.code == 2, result.stderr
        assert "Traceback" not in result.stderr
        for problem in problems:
            assert problem in result.stderr
    assert not (tmp_path / "o" / "report.json").exists()


def _measured(path: Path) -> tuple[int, float, int, str]:
    """Exit code, seconds, peak RSS in KiB and stderr of a fresh `thresholds validate`."""
    # VmHWM, not getrusage: ru_maxrss survives fork and exec, so it would report pytest's peak.
    probe = (
        "import atexit, re, runpy, sys\n"
        "atexit.register(lambda: sys.stderr.write('PEAK ' + re.search("
        "r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1) + '\\n'))\n"
        f"sys.argv = ['modelhealth', 'thresholds', 'validate', {str(path)!r}]\n"
        "runpy.run_module('modelhealth', run_name='__main__')\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    seconds = time.monotonic() - started
    peak = int(re.search(r"PEAK (\d+)", done.stderr).group(1))  # type: ignore[union-attr]
    return done.returncode, seconds, peak, done.stderr


@pytest.mark.slow
def test_bombs_and_giants_cost_about_what_a_valid_register_costs(
    attack_files: dict[str, Path], tmp_path: Path
) -> None:
    valid = tmp_path / "valid.yaml"
    valid.write_text(VALID)
    code, base_seconds, base_peak, _ = _measured(valid)
    assert code == 0
    lines = []
    for name in ("billion-laughs", "merge-key-bomb", "fifty-megabytes", "deep-sequence"):
        code, seconds, peak, stderr = _measured(attack_files[name])
        assert code == 2 and "Traceback" not in stderr, stderr
        # The bomb would expand to 10**9 strings (tens of GB); it is refused within tens of MB.
        assert peak - base_peak < 64 * 1024, (name, peak, base_peak)
        assert seconds < base_seconds + 15, (name, seconds, base_seconds)
        lines.append(f"{name}: {(peak - base_peak) / 1024:+.0f} MiB, {seconds:.1f} s")
    print(
        f"\nregister attacks vs a valid register ({base_peak / 1024:.0f} MiB, "
        f"{base_seconds:.1f} s): " + "; ".join(lines)
    )
