"""The book's one interactive figure: the T² optimum and the Chinchilla choice as the training
and inference budgets move. Every point is computed when the book is built; the page only looks
them up, with a few lines of plain JavaScript and an SVG drawn in the browser (no library, no
network, no kernel).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from t2lib.laws.frontier import Law, frontier, single_pass_choice

COLUMNS = ["law", "c_train", "c_inf", "N", "D", "k", "tokens_per_param", "value", "constraint", "outside data",
           "chinchilla_N", "chinchilla_k", "chinchilla_tokens_per_param", "chinchilla_value"]


def optimum_grid(laws: Mapping[str, Law | Sequence[Law]], c_train_values: ArrayLike, c_inf_values: ArrayLike, *,
                 smallest_N: float | None = None, largest_k: float | None = None) -> pd.DataFrame:
    """For every law, training budget and inference budget: the T² optimum (N, D, k, tokens per
    parameter, predicted value, which constraint bound it, and what it extrapolates beyond the
    fitted data: `frontier`'s "outside data", empty where no range is given) and the Chinchilla
    single-pass choice priced at the samples it affords (value NaN where it cannot afford one)."""
    c_train_values = np.asarray(c_train_values, dtype=float)
    frames = []
    for name, law in laws.items():
        for c_inf in np.asarray(c_inf_values, dtype=float):
            t2 = frontier(law, c_train_values, c_inf, smallest_N=smallest_N, largest_k=largest_k)
            if "outside data" not in t2:
                t2["outside data"] = ""
            chinchilla = single_pass_choice(law, c_train_values, c_inf)
            frames.append(t2.assign(law=name, chinchilla_N=chinchilla["N"].to_numpy(),
                                    chinchilla_k=chinchilla["k"].to_numpy(),
                                    chinchilla_tokens_per_param=chinchilla["tokens_per_param"].to_numpy(),
                                    chinchilla_value=chinchilla["value"].to_numpy()))
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def _payload(grid: pd.DataFrame, lower_is_better: Mapping[str, bool]) -> dict:
    """The grid as the page's script reads it: the budgets' logarithms and, per law, tables
    [c_train][c_inf] of log10 N and the predicted value of both choices, and whether the optimum
    sits at the edge of the size search; D, k and D/N follow from N and the budgets."""
    c_trains = np.sort(grid["c_train"].unique())
    c_infs = np.sort(grid["c_inf"].unique())
    laws = {}
    for name, rows in grid.groupby("law", sort=False):
        table = rows.set_index(["c_train", "c_inf"]).loc[pd.MultiIndex.from_product([c_trains, c_infs])]

        def shaped(values: pd.Series, decimals: int) -> list:
            array = values.to_numpy(dtype=float).reshape(len(c_trains), len(c_infs)).round(decimals)
            return [[None if not np.isfinite(v) else float(v) for v in row] for row in array]

        laws[name] = {"lowerIsBetter": bool(lower_is_better[name]),
                      "logN": shaped(np.log10(table["N"]), 4), "value": shaped(table["value"], 4),
                      "edge": shaped((table["constraint"] == "search edge").astype(float), 0),
                      "beyond": shaped((table["outside data"] != "").astype(float), 0),
                      "chinLogN": shaped(np.log10(table["chinchilla_N"]), 4),
                      "chinValue": shaped(table["chinchilla_value"], 4)}
    return {"logCTrain": np.log10(c_trains).round(4).tolist(), "logCInf": np.log10(c_infs).round(4).tolist(),
            "laws": laws}


SCRIPT = """
(function () {
  const root = document.getElementById(__ROOT__);
  const data = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  const train = root.querySelector("input[name='c_train']");
  const inference = root.querySelector("input[name='c_inf']");
  const svg = root.querySelector("svg");
  const [W, H, L, R, T, B] = [640, 300, 56, 16, 12, 44];
  const xs = data.logCTrain, x0 = xs[0], x1 = xs[xs.length - 1];
  const px = (v) => L + (v - x0) / (x1 - x0) * (W - L - R);
  const NS = "http://www.w3.org/2000/svg";
  const add = (name, attributes, text) => {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    svg.appendChild(node);
    return node;
  };
  const power = (node, e) => {  // 10 with a raised exponent
    node.textContent = "10";
    const exponent = document.createElementNS(NS, "tspan");
    exponent.setAttribute("dy", "-7");
    exponent.setAttribute("font-size", "10");
    exponent.textContent = String(e).replace("-", "\u2212");
    node.appendChild(exponent);
  };
  const law = () => root.querySelector("input[name='law']:checked").value;
  const set = (field, text) => { root.querySelector("[data-field='" + field + "']").textContent = text; };
  const digits = "0123456789", raised = "⁰¹²³⁴⁵⁶⁷⁸⁹";
  const sup = (e) => String(e).split("").map((c) => c === "-" ? "⁻" : raised[digits.indexOf(c)]).join("");
  const number = (x) => {  // as t2lib.book.tables.format_number: 3 significant digits, ×10ⁿ beyond 1e6
    if (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3) {
      const [m, e] = x.toExponential(2).split("e");
      const mantissa = String(Number(m));
      return (mantissa === "1" ? "" : mantissa + "×") + "10" + sup(Number(e));
    }
    const rounded = Number(x.toPrecision(3));
    return Math.abs(rounded) >= 1000 ? Math.round(rounded).toLocaleString("en-US") : String(rounded);
  };
  const fmt = (v) => v === null ? "cannot afford one sample" : v.toFixed(3);
  function draw() {
    const chosen = data.laws[law()], j = Number(inference.value), i = Number(train.value);
    const cTrain = data.logCTrain.map((v) => 10 ** v), cInf = 10 ** data.logCInf[j];
    const tokensPerParam = (logN, n) => Math.log10(cTrain[n] / 6 / 10 ** (2 * logN));
    const t2 = chosen.logN.map((row, n) => tokensPerParam(row[j], n));
    const chin = chosen.chinLogN.map((row, n) => tokensPerParam(row[j], n));
    const all = t2.concat(chin);
    const y0 = Math.floor(Math.min(...all)), y1 = Math.ceil(Math.max(...all));
    const py = (v) => T + (y1 - v) / Math.max(y1 - y0, 1) * (H - T - B);
    svg.replaceChildren();
    for (let e = Math.ceil(x0); e <= Math.floor(x1); e += 1) {
      add("line", {x1: px(e), x2: px(e), y1: T, y2: H - B, class: "grid"});
      power(add("text", {x: px(e), y: H - B + 18, "text-anchor": "middle"}), e);
    }
    for (let e = y0; e <= y1; e += 1) {
      add("line", {x1: L, x2: W - R, y1: py(e), y2: py(e), class: "grid"});
      power(add("text", {x: L - 6, y: py(e) + 4, "text-anchor": "end"}), e);
    }
    add("text", {x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle"}, "training budget (FLOPs)");
    add("text", {x: 12, y: (T + H - B) / 2, "text-anchor": "middle", transform: "rotate(-90 12 " + (T + H - B) / 2 + ")"},
        "tokens per parameter");
    const path = (values, shown) => values.map((v, n) => !shown(n) ? "" :
      (n && shown(n - 1) ? "L" : "M") + px(xs[n]).toFixed(1) + " " + py(v).toFixed(1)).join(" ");
    const affordable = (n) => chosen.chinValue[n][j] !== null;  // the Chinchilla line ends where it cannot run
    add("path", {d: path(chin, affordable), class: "chinchilla"});
    const colour = law() === "Approach 1" ? "approach1" : "approach2";
    const within = (n) => !chosen.beyond[n][j];  // dotted from the last point within to the end
    const beyond = (n) => chosen.beyond[n][j] || (n + 1 < xs.length && chosen.beyond[n + 1][j]);
    add("path", {d: path(t2, within), class: "optimum " + colour});
    add("path", {d: path(t2, beyond), class: "optimum beyond " + colour});
    add("circle", {cx: px(xs[i]), cy: py(t2[i]), r: 5, class: "optimum-point"});
    if (affordable(i)) add("circle", {cx: px(xs[i]), cy: py(chin[i]), r: 4, class: "chinchilla-point"});
    set("c_train", number(cTrain[i]) + " FLOPs");
    set("c_inf", number(cInf) + " FLOPs per token");
    for (const [prefix, logN] of [["", chosen.logN[i][j]], ["chin", chosen.chinLogN[i][j]]]) {
      const N = 10 ** logN;
      set(prefix + "N", number(N));
      set(prefix + "D", number(cTrain[i] / 6 / N));
      set(prefix + "Tpp", number(cTrain[i] / 6 / N / N));
      const k = cInf / 2 / N;
      set(prefix + "K", k < 1 ? "less than one: cannot run" : number(k));
    }
    const value = chosen.value[i][j], chinValue = chosen.chinValue[i][j];
    set("Value", fmt(value) + (chosen.edge[i][j] ? " (at the edge of the size search)" : "")
        + (chosen.beyond[i][j] ? " (beyond the data the law was fitted on: an extrapolation)" : ""));
    set("chinValue", fmt(chinValue));
    set("measure", chosen.lowerIsBetter ? "predicted macro task NLL (lower is better)"
                                        : "predicted macro pass@k (higher is better)");
    const gain = value - chinValue;
    set("gain", chinValue === null ? "The Chinchilla choice cannot draw one sample within this inference budget."
        : "T² optimum − Chinchilla choice: " + (gain >= 0 ? "+" : "−") + Math.abs(gain).toFixed(3)
          + (chosen.lowerIsBetter ? " (negative: the optimum is better)" : " (positive: the optimum is better)") + ".");
  }
  for (const control of root.querySelectorAll("input")) control.addEventListener("input", draw);
  draw();
})();
"""

STYLE = """
.t2-explorer {border: 1px solid #ccc; padding: 0.75em 1em; margin: 1em 0;}
.t2-explorer label {display: block; margin: 0.25em 0;}
.t2-explorer input[type=range] {width: 22em; vertical-align: middle;}
.t2-explorer fieldset {border: none; padding: 0; margin: 0.5em 0;}
.t2-explorer svg {width: 100%; max-width: 640px; height: auto; font-size: 13px;}
.t2-explorer svg .grid {stroke: #ddd;}
.t2-explorer svg path {fill: none; stroke-width: 2.5;}
.t2-explorer svg .approach1 {stroke: APPROACH1;}
.t2-explorer svg .approach2 {stroke: APPROACH2;}
.t2-explorer svg .chinchilla {stroke: CHINCHILLA; stroke-dasharray: 6 4; stroke-width: 1.8;}
.t2-explorer svg .beyond {stroke-dasharray: 2 4;}
.t2-explorer svg .optimum-point {fill: #fff; stroke: #000; stroke-width: 2;}
.t2-explorer svg .chinchilla-point {fill: CHINCHILLA;}
"""


def explorer_html(grid: pd.DataFrame, *, lower_is_better: Mapping[str, bool], colours: Mapping[str, str],
                  start: tuple[float, float] | None = None) -> str:
    """The interactive figure for an `optimum_grid`: two sliders (training and inference budget),
    a choice of law, a chart of tokens per parameter against the training budget for the T²
    optimum and the Chinchilla choice, and the numbers of both at the chosen budgets.
    `colours` gives "Approach 1", "Approach 2" and "Chinchilla" their book colours; `start`
    (c_train, c_inf) picks the grid point shown first (default: the middle)."""
    payload = _payload(grid, lower_is_better)
    c_trains, c_infs = np.sort(grid["c_train"].unique()), np.sort(grid["c_inf"].unique())
    i, j = ((int(np.argmin(abs(np.log(c_trains / start[0])))), int(np.argmin(abs(np.log(c_infs / start[1])))))
            if start else (len(c_trains) // 2, len(c_infs) // 2))
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    element = "t2-explorer-" + hashlib.sha1(data.encode()).hexdigest()[:10]
    style = (STYLE.replace("APPROACH1", colours["Approach 1"]).replace("APPROACH2", colours["Approach 2"])
             .replace("CHINCHILLA", colours["Chinchilla"]))
    laws = list(payload["laws"])
    radios = "".join(f'<label style="display:inline;margin-right:1.5em"><input type="radio" name="law" value="{name}"'
                     f'{" checked" if n == 0 else ""}> {name}</label>' for n, name in enumerate(laws))
    rows = "".join(f"<tr><th>{label}</th><td data-field='{field}'></td><td data-field='chin{field}'></td></tr>"
                   for label, field in (("N (parameters)", "N"), ("D (tokens)", "D"), ("D/N (tokens per parameter)", "Tpp"),
                                        ("k (samples per question)", "K")))
    return f"""<div class="t2-explorer" id="{element}">
<style>{style}</style>
<label>Training budget C<sub>train</sub>: <input type="range" name="c_train" min="0" max="{len(c_trains) - 1}"
 step="1" value="{i}" aria-label="training budget"> <output data-field="c_train"></output></label>
<label>Inference budget C<sub>inf</sub>: <input type="range" name="c_inf" min="0" max="{len(c_infs) - 1}"
 step="1" value="{j}" aria-label="inference budget"> <output data-field="c_inf"></output></label>
<fieldset><legend style="font-size:inherit;float:left;margin-right:1em">Law:</legend>{radios}</fieldset>
<svg viewBox="0 0 640 300" role="img" aria-label="Tokens per parameter of the T² optimum (solid; dotted where it
 lies beyond the fitted data) and of the Chinchilla choice (dashed) against the training budget, at the chosen
 inference budget"></svg>
<table class="t2-table"><thead><tr><th></th><th>T² optimum (solid line, open circle; dotted beyond the fitted data)</th>
<th>Chinchilla choice (dashed line, dot; the line ends where it cannot draw one sample)</th></tr></thead>
<tbody>{rows}<tr><th data-field="measure"></th><td data-field="Value"></td><td data-field="chinValue"></td></tr>
</tbody></table>
<p data-field="gain"></p>
<script type="application/json">{data}</script>
<script>{SCRIPT.replace("__ROOT__", json.dumps(element))}</script>
</div>"""
