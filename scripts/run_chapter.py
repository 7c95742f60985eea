"""Execute one book chapter (a MyST-markdown jupytext notebook) with papermill.

Usage:
    python scripts/run_chapter.py SOURCE.md OUTPUT.ipynb [-p NAME VALUE]... [--figures DIR]

The executed notebook is written to a temporary file beside OUTPUT and moved into
place only when every cell ran, so a failed chapter never leaves an output that
make would take as up to date. Parameter values are parsed as YAML (`-p fast true`,
`-p seed 3`, `-p suite data/other`), like papermill's own `-y`. With `--figures`,
every PNG the notebook displayed is also written to DIR as NAME-figN.png.
A sidecar OUTPUT.json records the wall time, the parameters given, and the suite the chapter
read with its checksum (the execution-statistics page of the book shows them).
"""

from __future__ import annotations

import argparse
import ast
import base64
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import papermill
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_parameters(pairs: list[list[str]]) -> dict[str, object]:
    """Turn [['fast', 'true'], ...] into {'fast': True, ...} (values parsed as YAML)."""
    return {name: yaml.safe_load(value) for name, value in pairs}


def check_has_parameters_cell(notebook, source: Path) -> None:
    """Refuse a chapter without a cell tagged `parameters`: it could not be rerun on other data."""
    tagged = [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise SystemExit(f"{source}: expected exactly one cell tagged 'parameters', found {len(tagged)}")


def check_parameter_names(notebook, parameters: dict[str, object], source: Path) -> None:
    """Refuse a parameter the chapter does not declare: a typo would otherwise be silently ignored."""
    cell = next(c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", []))
    declared = {
        target.id
        for node in ast.parse(cell.source).body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise SystemExit(f"{source}: unknown parameter {unknown[0]!r}; the chapter declares {sorted(declared)}")


def default_parameters(notebook) -> dict[str, object]:
    """The literal values assigned in the chapter's parameters cell."""
    cell = next(c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", []))
    values = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue  # not a literal: nothing to record
    return values


def suite_record(source: Path, parameters: dict[str, object]) -> dict[str, object]:
    """Which suite the chapter read (given or default) and its checksum, as load_suite computes it."""
    from t2lib.suite import suite_sha256

    suite = parameters.get("suite", default_parameters(jupytext.read(source)).get("suite"))
    if suite is None:
        return {}
    path = Path(str(suite))
    return {"suite": str(suite), "suite_sha256": suite_sha256(path if path.is_absolute() else REPO_ROOT / path)}


def absolutise_paths(parameters: dict[str, object]) -> dict[str, object]:
    """Make a relative path given on the command line absolute, since the kernel runs in the repo root."""
    out = {}
    for name, value in parameters.items():
        if isinstance(value, str) and os.path.exists(value):
            value = str(Path(value).resolve())
        out[name] = value
    return out


def export_figures(notebook_path: Path, figures_dir: Path) -> list[Path]:
    """Write every image/png output of an executed notebook to figures_dir."""
    figures_dir.mkdir(parents=True, exist_ok=True)
    notebook = json.loads(notebook_path.read_text())
    written = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                path = figures_dir / f"{notebook_path.stem}-fig{len(written) + 1}.png"
                path.write_bytes(base64.b64decode(png))
                written.append(path)
    return written


def execute_chapter(source: Path, output: Path, parameters: dict[str, object]) -> float:
    """Execute source into output atomically; return the wall time in seconds."""
    notebook = jupytext.read(source)
    check_has_parameters_cell(notebook, source)
    check_parameter_names(notebook, parameters, source)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{output.stem}-", suffix=".ipynb", dir=output.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            notebook,
            str(tmp),
            parameters=absolutise_paths(parameters),
            kernel_name="python3",
            cwd=str(REPO_ROOT),
            progress_bar=False,
        )
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="chapter source (chapters/NAME.md)")
    parser.add_argument("output", type=Path, help="executed notebook to write (NAME.ipynb)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    parser.add_argument("--figures", type=Path, help="also write the notebook's figures as PNG files here")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        parser.error(f"chapter source not found: {args.source}")
    parameters = parse_parameters(args.parameter)
    try:
        seconds = execute_chapter(args.source, args.output, parameters)
    except papermill.PapermillExecutionError as error:
        print(f"FAILED {args.source}: {error.ename}: {error.evalue}", file=sys.stderr)
        return 1
    args.output.with_suffix(".json").write_text(
        json.dumps({"chapter": args.source.stem, "seconds": round(seconds, 2), "parameters": parameters,
                    **suite_record(args.source, parameters)}, indent=1)
    )
    print(f"executed {args.source} -> {args.output} in {seconds:.1f} s")
    if args.figures:
        for path in export_figures(args.output, args.figures):
            print(f"figure {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
