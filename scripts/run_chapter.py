"""Execute one book chapter (a MyST-markdown jupytext notebook) with papermill.

Usage:
    python scripts/run_chapter.py SOURCE.md OUTPUT.ipynb [-p NAME VALUE]... [--figures DIR]
    python scripts/run_chapter.py SOURCE.md --list-parameters

The executed notebook is written to a temporary file beside OUTPUT and moved into
place only when every cell ran, so a failed chapter never leaves an output that
make would take as up to date. Parameter values are read as people write them (`-p fast true`,
`-p seed 3`, `-p c_train 1.6e18`, `-p suite data/other`) and converted to the type of the
parameter's default; a value of the wrong kind is refused before anything runs. With
`--figures`, every figure the notebook displayed is also written to DIR as CHAPTER-LABEL.png
(and .svg when the chapter ran with T2BOOK_SLIDE_FIGURES=1), with its caption in CHAPTER-LABEL.txt.
A sidecar OUTPUT.json records the wall time, the parameters given, and the suite the chapter
read with its checksum (the execution-statistics page of the book shows them).

Exit status: 0 on success, 1 if a cell failed, 2 for bad arguments, 3 if the suite lacks what
the chapter needs (t2lib.book.requirements; the message names it).
"""

from __future__ import annotations

import argparse
import ast
import base64
import io
import json
import math
import os
import re
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass
from pathlib import Path

import jupytext
import papermill
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
NONE_WORDS = {"none", "null", "~"}


class ParameterError(ValueError):
    """A parameter the chapter does not declare, or a value of the wrong kind."""


@dataclass(frozen=True)
class Parameter:
    """A parameter declared in a chapter's parameters cell: its default and its comment."""

    name: str
    default: object
    comment: str


def parameters_cell(notebook, source: Path):
    """The chapter's one cell tagged `parameters`: without it, it could not be rerun on other data."""
    tagged = [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise SystemExit(f"{source}: expected exactly one cell tagged 'parameters', found {len(tagged)}")
    return tagged[0]


def declared_parameters(notebook, source: Path) -> dict[str, Parameter]:
    """Every name assigned in the parameters cell, with its literal default and trailing comment."""
    text = parameters_cell(notebook, source).source
    comments = {token.start[0]: token.string.lstrip("# ").strip()
                for token in tokenize.generate_tokens(io.StringIO(text).readline) if token.type == tokenize.COMMENT}
    lines = text.splitlines()
    for number in sorted(comments, reverse=True):  # an indented comment-only line continues the one above
        line = lines[number - 1]
        if line.startswith(" ") and line.lstrip().startswith("#") and number - 1 in comments:
            comments[number - 1] += " " + comments.pop(number)
    declared = {}
    for node in ast.parse(text).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            try:
                default = ast.literal_eval(node.value)
            except ValueError:
                default = None  # not a literal: values are then read as YAML, unconverted
            for target in targets:
                if isinstance(target, ast.Name):
                    declared[target.id] = Parameter(target.id, default, comments.get(node.lineno, ""))
    return declared


def convert(parameter: Parameter, text: str) -> object:
    """A value written as people write it (`1.6e18`, `true`, `3`), as the type of the default."""
    value = yaml.safe_load(text)
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        value = float(value)  # YAML 1.1 reads 1.6e18 (no dot, no sign in the exponent) as a string
    default = parameter.default
    if isinstance(default, bool):
        expected = "true or false"
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        expected = "a whole number"
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()
        value = int(value) if ok else value
    elif isinstance(default, float):
        expected = "a number"
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        value = float(value) if ok else value
    elif isinstance(default, str):
        return text
    else:  # default None: None, a number, or text
        return None if isinstance(value, str) and value.strip().lower() in NONE_WORDS else value
    if not ok:
        raise ParameterError(f"parameter {parameter.name!r}: expected {expected} (default {default!r}); got {text!r}")
    return value


def parse_parameters(pairs: list[list[str]], declared: dict[str, Parameter], source: Path) -> dict[str, object]:
    """Turn [['fast', 'true'], ...] into {'fast': True, ...}, refusing names the chapter does not
    declare (a typo would otherwise be silently ignored) and values of the wrong kind."""
    parameters = {}
    for name, text in pairs:
        if name not in declared:
            raise ParameterError(f"{source}: unknown parameter {name!r}; the chapter declares {sorted(declared)}")
        try:
            parameters[name] = convert(declared[name], text)
        except ParameterError as error:
            raise ParameterError(f"{source}: {error}") from None
    return parameters


def describe_parameters(declared: dict[str, Parameter]) -> str:
    """The chapter's parameters, their defaults and meaning, one per line (`make chapter HELP=1`)."""
    width = max(len(name) for name in declared)
    shown = {p.name: f"{p.default:.4g}" if isinstance(p.default, float) else repr(p.default) for p in declared.values()}
    return "\n".join(f"  {p.name:<{width}}  default {shown[p.name]:<16} {p.comment}" for p in declared.values())


def suite_record(declared: dict[str, Parameter], parameters: dict[str, object]) -> dict[str, object]:
    """Which suite the chapter read (given or default) and its checksum, as load_suite computes it."""
    from t2lib.data.suite import suite_sha256

    suite = parameters.get("suite", declared["suite"].default if "suite" in declared else None)
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
    """Write every figure an executed notebook displayed to figures_dir: its PNG (and SVG, when
    the chapter produced one) as CHAPTER-NAME.png, NAME being the figure's label (fig-…) or
    figN, and the figure's caption, when it has one, as CHAPTER-NAME.txt."""
    figures_dir.mkdir(parents=True, exist_ok=True)
    notebook = json.loads(notebook_path.read_text())
    written = []
    count = 0
    for cell in notebook["cells"]:
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" not in data:
                continue
            count += 1
            stem = figures_dir / f"{notebook_path.stem}-{figure.get('name', f'fig{count}')}"
            png = stem.with_suffix(".png")
            png.write_bytes(base64.b64decode(data["image/png"]))
            written.append(png)
            if "image/svg+xml" in data:
                svg = data["image/svg+xml"]
                stem.with_suffix(".svg").write_text(svg if isinstance(svg, str) else "".join(svg))
                written.append(stem.with_suffix(".svg"))
            if figure.get("caption"):
                stem.with_suffix(".txt").write_text(" ".join(figure["caption"].split()) + "\n")
                written.append(stem.with_suffix(".txt"))
    return written


# A kernel can die while starting when another process takes the port it chose before it binds
# it (two chapters start kernels at once); that, and only that, is retried.
KERNEL_START_FAILURE = "Kernel died before replying to kernel_info"
KERNEL_START_ATTEMPTS = 2


def execute_chapter(source: Path, output: Path, parameters: dict[str, object]) -> float:
    """Execute source into output atomically; return the wall time in seconds."""
    notebook = jupytext.read(source)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{output.stem}-", suffix=".ipynb", dir=output.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    start = time.perf_counter()
    try:
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            try:
                papermill.execute_notebook(
                    notebook,
                    str(tmp),
                    parameters=absolutise_paths(parameters),
                    kernel_name="python3",
                    cwd=str(REPO_ROOT),
                    progress_bar=False,
                )
                break
            except RuntimeError as error:  # nbclient's error when the kernel dies while starting
                if attempt == KERNEL_START_ATTEMPTS or KERNEL_START_FAILURE not in str(error):
                    raise
                print(f"{source}: the kernel died while starting ({error}); starting it again", file=sys.stderr)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="chapter source (chapters/NAME.md)")
    parser.add_argument("output", type=Path, nargs="?", help="executed notebook to write (NAME.ipynb)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    parser.add_argument("--figures", type=Path, help="also write the notebook's figures (PNG, SVG, caption) here")
    parser.add_argument("--list-parameters", action="store_true", help="print the chapter's parameters and stop")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        parser.error(f"chapter source not found: {args.source}")
    declared = declared_parameters(jupytext.read(args.source), args.source)
    if args.list_parameters:
        print(f"parameters of {args.source.stem} (set with -p NAME VALUE, or make chapter P=\"NAME=VALUE ...\"):")
        print(describe_parameters(declared))
        return 0
    if args.output is None:
        parser.error("the output notebook is required")
    try:
        parameters = parse_parameters(args.parameter, declared, args.source)
    except ParameterError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        seconds = execute_chapter(args.source, args.output, parameters)
    except papermill.PapermillExecutionError as error:
        if error.ename == "SuiteRequirementError":
            print(error.evalue, file=sys.stderr)
            return 3
        print(f"FAILED {args.source}: {error.ename}: {error.evalue}", file=sys.stderr)
        return 1
    args.output.with_suffix(".json").write_text(
        json.dumps({"chapter": args.source.stem, "seconds": round(seconds, 2), "parameters": parameters,
                    **suite_record(declared, parameters)}, indent=1)
    )
    print(f"executed {args.source} -> {args.output} in {seconds:.1f} s")
    if args.figures:
        for path in export_figures(args.output, args.figures):
            print(f"figure {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
